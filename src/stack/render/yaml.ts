/**
 * Renders a plain value as YAML with short teaching comments above chosen keys (yaml's Document API),
 * so every generated YAML file explains its own blocks.
 */
import { Document, isMap, isScalar, Scalar, visit, type Pair } from 'yaml';

/** A comment placed above the key at `path` (keys from the document root). */
export type KeyComment = readonly [path: readonly string[], text: string];

export interface YamlRenderOptions {
  /** Comment block at the top of the file. */
  header?: string;
  comments?: readonly KeyComment[];
  /** Write short lists of scalars inline (`[otlp, batch]`), as collector configs usually do. */
  inlineScalarLists?: boolean;
  /** A blank line between top-level blocks (default true); Kubernetes manifests read better without. */
  blankLines?: boolean;
}

/** A string that must be double-quoted (e.g. compose port mappings, which YAML 1.1 could misread). */
export function quoted(value: string): Scalar<string> {
  const scalar = new Scalar(value);
  scalar.type = Scalar.QUOTE_DOUBLE;
  return scalar;
}

export function renderYaml(value: unknown, options: YamlRenderOptions = {}): string {
  const doc = new Document(value);
  if (options.header) doc.commentBefore = asComment(options.header);
  if (isMap(doc.contents) && options.blankLines !== false) {
    // A blank line between top-level blocks, so each block and its comment read as a unit.
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

/** yaml prints each comment line after '#'; a leading space keeps `# text` readable. */
function asComment(text: string): string {
  return text
    .split('\n')
    .map((line) => (line ? ` ${line}` : ''))
    .join('\n');
}
