/**
 * What every command needs to talk to the user: where to write, whether to colour, whether it may ask.
 */
import { commandsAsInvoked, invokedAs } from './invocation.js';
import { redact } from './redact.js';
import { colorWanted, createStyle, type Style } from './style.js';
import { jsonSafe, terminalSafe } from './terminal-safe.js';

export interface OutputContext {
  /** Machine output: one JSON document (or JSON lines for streams) on stdout, nothing else there. */
  json: boolean;
  style: Style;
  /** May we prompt? False with --yes, without a TTY on stdin/stdout, or with CI=true. */
  interactive: boolean;
  /** How the user ran loom-otel (`loom-otel`, `npx loom-otel`): the prefix of every command a hint prints. */
  cli: string;
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
  const cli = invokedAs(env);
  // The output boundary: whatever a command prints, credentials are masked, a peer's control
  // characters are shown, not obeyed, and a quoted `loom-otel ...` command reads as the user ran it.
  const text = (value: string) => redact(commandsAsInvoked(value, cli));
  const line = (value: string) => `${terminalSafe(text(value), style.color)}\n`;
  return {
    json,
    style,
    interactive,
    cli,
    out: (value = '') => process.stdout.write(line(value)),
    err: (value = '') => process.stderr.write(line(value)),
    emitJson: (value) => process.stdout.write(`${jsonSafe(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? text(v) : v), 2))}\n`),
  };
}
