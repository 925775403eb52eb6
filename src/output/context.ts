/**
 * What every command needs to talk to the user: where to write, whether to colour, whether it may ask.
 */
import { redact } from './redact.js';
import { colorWanted, createStyle, type Style } from './style.js';
import { jsonSafe, terminalSafe } from './terminal-safe.js';

export interface OutputContext {
  /** Machine output: one JSON document (or JSON lines for streams) on stdout, nothing else there. */
  json: boolean;
  style: Style;
  /** May we prompt? False with --yes, without a TTY on stdin/stdout, or with CI=true. */
  interactive: boolean;
  out(line?: string): void;
  err(line?: string): void;
  /** Writes a value as JSON on stdout. */
  emitJson(value: unknown): void;
}

export interface GlobalFlags {
  json?: boolean;
  color?: boolean;
  yes?: boolean;
}

export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI?.toLowerCase();
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

export function createOutputContext(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): OutputContext {
  const json = Boolean(flags.json);
  const style = createStyle(!json && colorWanted({ noColor: flags.color === false, env }));
  const interactive = !flags.yes && !json && !isCi(env) && Boolean(process.stdin.isTTY && process.stdout.isTTY);
  // The output boundary: whatever a command prints, credentials are masked and a peer's control
  // characters are shown, not obeyed.
  const line = (text: string) => `${terminalSafe(redact(text), style.color)}\n`;
  return {
    json,
    style,
    interactive,
    out: (text = '') => process.stdout.write(line(text)),
    err: (text = '') => process.stderr.write(line(text)),
    emitJson: (value) => process.stdout.write(`${jsonSafe(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? redact(v) : v), 2))}\n`),
  };
}
