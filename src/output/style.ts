/**
 * Terminal styling that honours NO_COLOR (https://no-color.org), --no-color and non-TTY output.
 * Kept dependency-free so that `--help` stays fast.
 */
export interface Style {
  readonly color: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

export type Mark = 'pass' | 'warn' | 'fail' | 'skip' | 'info';

const codes = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], cyan: [36, 39] } as const;

export function colorWanted(options: { noColor?: boolean; stream?: NodeJS.WriteStream; env?: NodeJS.ProcessEnv } = {}): boolean {
  const env = options.env ?? process.env;
  if (options.noColor) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return Boolean((options.stream ?? process.stdout).isTTY);
}

export function createStyle(color: boolean): Style {
  const wrap = (name: keyof typeof codes) => (text: string) =>
    color ? `\u001b[${codes[name][0]}m${text}\u001b[${codes[name][1]}m` : text;
  return { color, bold: wrap('bold'), dim: wrap('dim'), red: wrap('red'), green: wrap('green'), yellow: wrap('yellow'), cyan: wrap('cyan') };
}

/** A one-character mark per check result; plain ASCII-safe words when colour is off, for logs and screen readers. */
export function mark(style: Style, kind: Mark): string {
  switch (kind) {
    case 'pass':
      return style.color ? style.green('✔') : '[ok]  ';
    case 'warn':
      return style.color ? style.yellow('!') : '[warn]';
    case 'fail':
      return style.color ? style.red('✖') : '[FAIL]';
    case 'skip':
      return style.color ? style.dim('-') : '[skip]';
    case 'info':
      return style.color ? style.cyan('i') : '[info]';
  }
}

/** `1 trace`, `2 traces`: a count with its noun in the right number. */
export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nouns}`;
}
