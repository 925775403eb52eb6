/**
 * Renders a plain value as YAML with short teaching comments above chosen keys, so every generated YAML
 * file explains its own blocks.
 *
 * A small emitter of our own rather than the yaml package: loading and first running yaml's Document API
 * cost init about 20 ms of its start-up. Its output is byte-identical to what init wrote with yaml 2.9.1
 * (`doc.toString({ lineWidth: 0, flowCollectionPadding: false })`), so stacks written by earlier versions
 * stay "Up to date" under `init --check`; test/yaml-emitter.test.ts holds it to that. The rules below are
 * ported from yaml's stringify/*.js, without folding (lineWidth 0) and without what we never write
 * (tags, anchors, flow maps, comments after values). Three strings yaml writes so that they read back
 * differently are written correctly instead (marked "yaml 2.9.1" below); no file init renders holds one.
 */

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

class DoubleQuoted {
  constructor(readonly value: string) {}
}

/** A string that must be double-quoted (e.g. compose port mappings, which YAML 1.1 could misread). */
export function quoted(value: string): DoubleQuoted {
  return new DoubleQuoted(value);
}

export function renderYaml(value: unknown, options: YamlRenderOptions = {}): string {
  // A file is a map or a list: every scalar then sits indented, which the rules below assume.
  if (isScalar(value)) throw new Error('renderYaml writes a map or a list at the top of a file.');
  const emitter = new Emitter(value, options);
  const body = emitter.node(value, { indent: '' }, () => {});
  if (!options.header) return `${body}\n`;
  const header = commentBlock(options.header, '');
  // yaml drops the first line of a header made only of blank lines.
  return `${/^\n+$/.test(header) ? header.slice(1) : header}\n\n${body}\n`;
}

const INDENT = '  ';

interface Context {
  /** Indentation of the node's continuation lines (yaml's ctx.indent). */
  indent: string;
  /** A map key: always one line. */
  implicitKey?: boolean;
  /** Inside a flow list `[...]`. */
  inFlow?: boolean;
}

/** Called when a node ends in a `|+` block: its trailing blank lines then stand for the blank line before the next key. */
type OnKeep = () => void;

type YamlMap = Record<string, unknown>;

function isMap(value: unknown): value is YamlMap {
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const isScalar = (value: unknown) => !Array.isArray(value) && !isMap(value);

class Emitter {
  /** Comment text above each key, by the map that holds the key. */
  private readonly comments = new Map<object, Map<string, string>>();
  /** yaml writes an object met twice as an anchor and aliases: refuse instead (and so also cycles). */
  private readonly seen = new Set<object>();

  constructor(
    private readonly root: unknown,
    private readonly options: YamlRenderOptions,
  ) {
    for (const [path, text] of options.comments ?? []) this.addComment(path, text);
  }

  private addComment(path: readonly string[], text: string): void {
    let holder: YamlMap | undefined;
    let node = this.root;
    for (const key of path) {
      if (!isMap(node) || !Object.hasOwn(node, key) || node[key] === undefined) {
        holder = undefined;
        break;
      }
      holder = node;
      node = node[key];
    }
    const key = path[path.length - 1];
    if (!holder || key === undefined) throw new Error(`No key ${path.join('.')} to comment in the rendered YAML.`);
    const byKey = this.comments.get(holder) ?? new Map<string, string>();
    byKey.set(key, text);
    this.comments.set(holder, byKey);
  }

  node(value: unknown, ctx: Context, onKeep: OnKeep): string {
    if (isScalar(value)) return scalar(value, ctx, onKeep);
    const object = value as object;
    if (this.seen.has(object)) throw new Error('renderYaml: the same object appears twice in the value; pass a copy.');
    this.seen.add(object);
    return Array.isArray(value) ? this.seq(value, ctx, onKeep) : this.map(value as YamlMap, ctx, onKeep);
  }

  private map(map: YamlMap, ctx: Context, onKeep: OnKeep): string {
    const entries = Object.entries(map).filter(([, value]) => value !== undefined);
    if (entries.length === 0) return '{}';
    const blankLines = map === this.root && this.options.blankLines !== false;
    const lines: string[] = [];
    let keep = false;
    entries.forEach(([key, value], index) => {
      if (blankLines && index > 0 && !keep) lines.push('');
      let comment = this.comments.get(map)?.get(key);
      if (comment && keep) comment = comment.replace(/^\n+/, '');
      if (comment) lines.push(commentBlock(comment, ctx.indent).trimStart());
      keep = false;
      lines.push(this.pair(key, value, ctx.indent, () => (keep = true)));
    });
    if (keep) onKeep();
    return joinLines(lines, ctx.indent);
  }

  private pair(key: string, value: unknown, indent: string, onKeep: OnKeep): string {
    const inner = indent + INDENT;
    const keyText = scalar(key, { indent: inner, implicitKey: true }, () => {});
    if (keyText.length > 1024) throw new Error(`renderYaml: the key ${keyText.slice(0, 40)}... is longer than a YAML implicit key may be.`);
    const valueText = this.node(value, { indent: inner }, onKeep);
    // A collection goes on the next lines, unless written in flow style on this one (`[a, b]`, `{}`, `[]`).
    const flowLine = /^[[{]/.test(valueText) && !valueText.includes('\n');
    return isScalar(value) || flowLine ? `${keyText}: ${valueText}` : `${keyText}:\n${inner}${valueText}`;
  }

  private seq(items: readonly unknown[], ctx: Context, onKeep: OnKeep): string {
    if (items.length === 0) return '[]';
    if (isFlowSeq(items, this.options)) return flowSeq(items, ctx.indent);
    const itemCtx: Context = { indent: ctx.indent + INDENT };
    let keep = false;
    const lines = items.map((item) => {
      keep = false;
      return `- ${this.node(item, itemCtx, () => (keep = true))}`;
    });
    if (keep) onKeep();
    return joinLines(lines, ctx.indent);
  }
}

function isFlowSeq(value: unknown, options: YamlRenderOptions): value is unknown[] {
  return !!options.inlineScalarLists && Array.isArray(value) && value.length > 0 && value.every(isScalar);
}

/** `[a,b]` items, each written as if one level deeper; any multi-line item puts every item on its own line. */
function flowSeq(items: readonly unknown[], indent: string): string {
  const itemCtx: Context = { indent: indent + INDENT + INDENT, inFlow: true };
  const texts = items.map((item, i) => scalar(item, itemCtx, () => {}) + (i < items.length - 1 ? ',' : ''));
  if (!texts.some((text) => text.includes('\n'))) return `[${texts.join(' ')}]`;
  return `[${texts.map((text) => `\n${INDENT}${indent}${text}`).join('')}\n${indent}]`;
}

function joinLines(lines: readonly string[], indent: string): string {
  return lines.map((line, i) => (i === 0 ? line : line ? `\n${indent}${line}` : '\n')).join('');
}

/** `# text` lines; the first is left unindented for the caller to place. */
function commentBlock(text: string, indent: string): string {
  if (/[\r\u2028\u2029]/.test(text)) throw new Error(`renderYaml: a comment may break lines only with \\n: ${JSON.stringify(text)}`);
  return text
    .split('\n')
    .map((line) => (line ? `${indent}# ${line}` : ''))
    .join('\n');
}

function scalar(value: unknown, ctx: Context, onKeep: OnKeep): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return number(value);
  if (value instanceof DoubleQuoted) return doubleQuoted(value.value, ctx);
  if (typeof value === 'string') {
    if (SIMPLE_WORD.test(value) && !CORE_SCHEMA_WORDS.has(value)) return value;
    return CONTROL.test(value) ? doubleQuoted(value, ctx) : plain(value, ctx, onKeep);
  }
  const name = (value as object)?.constructor?.name ?? typeof value;
  throw new Error(`renderYaml cannot write a ${name} value: give it plain objects, arrays, strings, numbers, booleans or null.`);
}

function number(value: number): string {
  if (Number.isFinite(value)) return Object.is(value, -0) ? '-0' : JSON.stringify(value);
  return Number.isNaN(value) ? '.nan' : value < 0 ? '-.inf' : '.inf';
}

/**
 * Most strings in a stack are names, paths and dotted keys that `plain` would leave as they are: a letter
 * first, then letters, digits and `_./-` (no indicator, no `: ` or ` #`, no edge whitespace, no number).
 * Only the core schema's words need quotes. Skipping plain's dozen regular expressions for them saves a
 * measurable part of init's start-up, where every one of them runs cold.
 */
const SIMPLE_WORD = /^[A-Za-z][A-Za-z0-9_./-]*$/;
const CORE_SCHEMA_WORDS = new Set(['null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE']);

/** Characters only a double-quoted string can carry (yaml forces double quotes on them). */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u{D800}-\u{DFFF}]/u;

/** A plain string that would read back as something else: null, bool, int or float of the core schema. */
const CORE_SCHEMA_TESTS = [
  /^(?:~|[Nn]ull|NULL)?$/,
  /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/,
  /^0o[0-7]+$/,
  /^[-+]?[0-9]+$/,
  /^0x[0-9a-fA-F]+$/,
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/,
];

/** yaml's plainString: plain unless an indicator, a `: `/` #`, edge whitespace or a core-schema look-alike forbids it. */
function plain(value: string, ctx: Context, onKeep: OnKeep): string {
  const { implicitKey, inFlow, indent } = ctx;
  // In a flow list a line break after `:` (or after a leading `?` or `-`) makes an indicator too, which
  // yaml 2.9.1 misses: the item would read back as a map.
  if ((implicitKey && value.includes('\n')) || (inFlow && /[[\]{},]|:\n|^[?-]\n/.test(value))) return quotedString(value, ctx);
  if (/^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/.test(value)) {
    return implicitKey || inFlow || !value.includes('\n') ? quotedString(value, ctx) : blockString(value, ctx, onKeep);
  }
  // Multi-line strings read best as blocks where blocks may stand.
  if (!implicitKey && !inFlow && value.includes('\n')) return blockString(value, ctx, onKeep);
  // `---` or `...` starting a line (\u2028 counts) of a top-level key would read as a document marker.
  if (implicitKey && indent === INDENT && /^(%|---|\.\.\.)/m.test(value)) return quotedString(value, ctx);
  const text = value.replace(/\n+/g, `$&\n${indent}`);
  return CORE_SCHEMA_TESTS.some((test) => test.test(text)) ? quotedString(value, ctx) : text;
}

/** Single quotes for a string holding only double quotes, else double quotes. */
function quotedString(value: string, ctx: Context): string {
  return value.includes('"') && !value.includes("'") ? singleQuoted(value, ctx) : doubleQuoted(value, ctx);
}

function singleQuoted(value: string, ctx: Context): string {
  // Single quotes cannot keep whitespace around a line break.
  if ((ctx.implicitKey && value.includes('\n')) || /[ \t]\n|\n[ \t]/.test(value)) return doubleQuoted(value, ctx);
  return `'${value.replace(/'/g, "''").replace(/\n+/g, `$&\n${ctx.indent}`)}'`;
}

/** Escapes as JSON does, then YAML's shorter escapes; in a long value (40+) a line break is written as one. */
function doubleQuoted(value: string, ctx: Context): string {
  const json = JSON.stringify(value);
  const { indent } = ctx;
  let text = '';
  let start = 0;
  for (let i = 0, ch = json[i]; ch; ch = json[++i]) {
    if (ch === ' ' && json[i + 1] === '\\' && json[i + 2] === 'n') {
      // A space before a written line break would be folded away: escape it.
      text += json.slice(start, i) + '\\ ';
      i += 1;
      start = i;
      ch = '\\';
    }
    if (ch !== '\\') continue;
    if (json[i + 1] === 'u') {
      text += json.slice(start, i);
      const code = json.substr(i + 2, 4);
      text += SHORT_ESCAPES[code] ?? (code.startsWith('00') ? `\\x${code.slice(2)}` : json.substr(i, 6));
      i += 5;
      start = i + 1;
    } else if (json[i + 1] === 'n' && !ctx.implicitKey && json[i + 2] !== '"' && json.length >= 40) {
      // A line break folds to a space, so one newline is written as an empty line.
      text += json.slice(start, i) + '\n\n';
      while (json[i + 2] === '\\' && json[i + 3] === 'n' && json[i + 4] !== '"') {
        text += '\n';
        i += 2;
      }
      text += indent;
      // Leading spaces of a continuation line would be dropped: escape the first (unless a line break
      // follows, which escapes it below: yaml 2.9.1 escapes it twice, writing a stray backslash).
      if (json[i + 2] === ' ' && json.substr(i + 3, 2) !== '\\n') text += '\\';
      i += 1;
      start = i + 1;
    } else {
      i += 1;
    }
  }
  return start ? text + json.slice(start) : json;
}

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '0000': '\\0',
  '0007': '\\a',
  '000b': '\\v',
  '001b': '\\e',
  '0085': '\\N',
  '00a0': '\\_',
  '2028': '\\L',
  '2029': '\\P',
};

/** A literal block (`|`), its chomping from the trailing newlines and an indentation indicator for a leading space. */
function blockString(value: string, ctx: Context, onKeep: OnKeep): string {
  // A block cannot end in a line of only whitespace. Nor (missed by yaml 2.9.1) can a block of only
  // whitespace hold a space before its first tab: a reader takes such spaces for indentation.
  const blankWithSpaces = !/[^\n\t ]/.test(value) && (value.split('\t')[0] as string).includes(' ');
  if (/\n[\t ]+$/.test(value) || blankWithSpaces) return quotedString(value, ctx);
  const { indent } = ctx;
  let endStart = value.length;
  while (endStart > 0 && /[\n\t ]/.test(value[endStart - 1] as string)) endStart -= 1;
  let end = value.substring(endStart);
  const endNewline = end.indexOf('\n');
  let chomp: '-' | '+' | '';
  if (endNewline === -1) chomp = '-';
  else if (value === end || endNewline !== end.length - 1) {
    chomp = '+';
    onKeep();
  } else chomp = '';
  let body = value;
  if (end) {
    body = body.slice(0, -end.length);
    if (end.endsWith('\n')) end = end.slice(0, -1);
    end = end.replace(/(^|(?<!\n))\n+(?!\n|$)/g, `$&${indent}`);
  }
  let startWithSpace = false;
  let startEnd = 0;
  let startNewline = -1;
  for (; startEnd < body.length; startEnd += 1) {
    const ch = body[startEnd];
    if (ch === ' ') startWithSpace = true;
    else if (ch === '\n') startNewline = startEnd;
    else break;
  }
  let start = body.substring(0, startNewline < startEnd ? startNewline + 1 : startEnd);
  if (start) {
    body = body.substring(start.length);
    start = start.replace(/\n+/g, `$&${indent}`);
  }
  // The indentation indicator counts from the parent's indentation, one step up.
  const header = (startWithSpace ? String(INDENT.length) : '') + chomp;
  return `|${header}\n${indent}${start}${body.replace(/\n+/g, `$&${indent}`)}${end}`;
}
