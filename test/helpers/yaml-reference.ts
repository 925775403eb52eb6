/**
 * The YAML renderer init used before src/stack/render/yaml.ts had its own emitter: the yaml package's
 * Document API. Kept as the oracle the emitter must match byte for byte, so stacks written by earlier
 * versions stay "Up to date" under `init --check`.
 */
import { Document, isMap, isScalar, Scalar, visit, type Pair } from 'yaml';
import type { quoted as emitterQuoted, YamlRenderOptions } from '../../src/stack/render/yaml.js';

/**
 * The reference renderYaml. `quoted` is the emitter's: its markers become yaml's double-quoted Scalars,
 * as quoted() returned before. (Taken as a parameter so a vi.mock factory of yaml.ts can build it.)
 */
export function yamlReference(quoted: typeof emitterQuoted): (value: unknown, options?: YamlRenderOptions) => string {
  const Marker = quoted('').constructor;
  const toScalar = (_key: unknown, value: unknown) => {
    if (!(value instanceof Marker)) return value;
    const scalar = new Scalar((value as { value: string }).value);
    scalar.type = Scalar.QUOTE_DOUBLE;
    return scalar;
  };
  return (value, options = {}) => {
    const doc = new Document(value, toScalar);
    if (options.header) doc.commentBefore = asComment(options.header);
    if (isMap(doc.contents) && options.blankLines !== false) {
      doc.contents.items.forEach((pair, index) => {
        if (index > 0 && isScalar(pair.key)) pair.key.spaceBefore = true;
      });
    }
    for (const [path, text] of options.comments ?? []) {
      const pair = findPair(doc, path);
      if (!pair || !isScalar(pair.key)) throw new Error(`No key ${path.join('.')} to comment in the rendered YAML.`);
      pair.key.commentBefore = asComment(text);
    }
    if (options.inlineScalarLists) {
      visit(doc, {
        Seq(_, seq) {
          if (seq.items.length > 0 && seq.items.every((item) => isScalar(item))) seq.flow = true;
        },
      });
    }
    return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  };
}

function findPair(doc: Document, path: readonly string[]): Pair | undefined {
  let node: unknown = doc.contents;
  let pair: Pair | undefined;
  for (const key of path) {
    if (!isMap(node)) return undefined;
    pair = node.items.find((item) => isScalar(item.key) && item.key.value === key) as Pair | undefined;
    if (!pair) return undefined;
    node = pair.value;
  }
  return pair;
}

function asComment(text: string): string {
  return text
    .split('\n')
    .map((line) => (line ? ` ${line}` : ''))
    .join('\n');
}
