/**
 * Compose commands on the generated stack: always `-f <dir>/docker-compose.yml --project-directory <dir>`,
 * so they work from any current directory; the project name comes from the file's `name:`.
 */
import { execa } from 'execa';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { ActionError } from '../errors.js';
import type { StackModel } from '../stack/model.js';
import { COMPOSE_FILE } from '../stack/render/compose.js';
import { runCommand, type CommandResult, type Engine } from './engine.js';
import { displayDir, explainComposeUpFailure, explainEngineFailure, lastLines } from './failures.js';

export interface ComposeProject {
  engine: Engine;
  /** Absolute stack directory. */
  dir: string;
  file: string;
}

export function composeProject(engine: Engine, dir: string): ComposeProject {
  return { engine, dir, file: path.join(dir, COMPOSE_FILE) };
}

/** Fails with the fix when the stack directory has a manifest but no compose file. */
export async function requireComposeFile(project: ComposeProject): Promise<void> {
  try {
    await access(project.file);
  } catch {
    throw new ActionError(
      `${displayDir(project.file)} is missing: the stack in ${displayDir(project.dir)} is incomplete.`,
      `Run \`loom-otel init --dir ${displayDir(project.dir)}\` to write it again.`,
    );
  }
}

/** The full argv of a compose subcommand, as it is run (and as messages show it). */
export function composeArgv(project: ComposeProject, args: readonly string[]): string[] {
  return [...project.engine.compose, '-f', project.file, '--project-directory', project.dir, ...args];
}

async function runCompose(project: ComposeProject, args: readonly string[], timeoutMs?: number): Promise<CommandResult> {
  return runCommand(composeArgv(project, args), timeoutMs ? { timeoutMs } : {});
}

function failed(project: ComposeProject, args: readonly string[], result: CommandResult): ActionError {
  const output = result.stderr || result.stdout;
  return (
    explainEngineFailure(project.engine, output) ??
    new ActionError(`\`${[...project.engine.compose, ...args].join(' ')}\` failed:\n${lastLines(output, 8)}`, `Check the stack in ${project.dir} and what ${project.engine.cli} says above.`)
  );
}

/**
 * `up -d`. Image pulls can take minutes, so there is no timeout here (Ctrl-C stops it); `onOutput`
 * receives each line Compose prints, for a progress display.
 */
export async function composeUp(project: ComposeProject, model: StackModel, onOutput?: (line: string) => void): Promise<void> {
  const [file, ...args] = composeArgv(project, ['up', '-d']) as [string, ...string[]];
  const subprocess = execa(file, args, { reject: false, stdin: 'ignore', all: true });
  if (onOutput) {
    let pending = '';
    subprocess.all?.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString('utf8')).split(/\r?\n|\r/);
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) onOutput(line.trim());
    });
  }
  const result = await subprocess;
  if (result.exitCode === 0) return;
  if (result.code === 'ENOENT') throw new ActionError(`${file} is no longer installed.`, 'Install it again, or choose another engine with --engine.');
  throw explainComposeUpFailure(model, project.dir, project.engine, String(result.all ?? ''));
}

export async function composeDown(project: ComposeProject, options: { volumes: boolean }): Promise<void> {
  const args = ['down', ...(options.volumes ? ['--volumes'] : [])];
  const result = await runCompose(project, args, 300_000);
  if (result.exitCode !== 0) throw failed(project, args, result);
}

export interface ServiceState {
  service: string;
  container: string;
  /** running, exited, restarting, created, paused, dead, ... */
  state: string;
  running: boolean;
  /** The container's own healthcheck, when it has one: healthy, unhealthy, starting. */
  health?: string;
  exitCode?: number;
}

/** `ps --all --format json` of the project: every container, running or not. */
export async function composePs(project: ComposeProject, timeoutMs = 60_000): Promise<ServiceState[]> {
  const args = ['ps', '--all', '--format', 'json'];
  const result = await runCompose(project, args, timeoutMs);
  if (result.exitCode !== 0) throw failed(project, args, result);
  return parseComposePs(result.stdout);
}

/**
 * Compose before v2.21 prints one JSON array; later versions print one JSON object per line (like
 * `docker ps`). Podman's containers carry the service in their labels.
 */
export function parseComposePs(text: string): ServiceState[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  let rows: unknown[];
  try {
    rows = trimmed.startsWith('[')
      ? (JSON.parse(trimmed) as unknown[])
      : trimmed
          .split('\n')
          .filter((line) => line.trim().startsWith('{'))
          .map((line) => JSON.parse(line) as unknown);
  } catch (error) {
    throw new ActionError(`Could not read the output of \`compose ps --format json\`: ${(error as Error).message}`, 'Update Compose to v2 (the output format it prints is not JSON here).');
  }
  return rows.flatMap((row) => {
    const entry = toServiceState(row as Record<string, unknown>);
    return entry ? [entry] : [];
  });
}

function labelsOf(value: unknown): Record<string, string> {
  if (typeof value === 'string') {
    return Object.fromEntries(
      value
        .split(',')
        .map((pair) => pair.split('='))
        .filter((pair): pair is [string, string] => pair.length >= 2)
        .map(([key, ...rest]) => [key, rest.join('=')]),
    );
  }
  return typeof value === 'object' && value !== null ? (value as Record<string, string>) : {};
}

function toServiceState(row: Record<string, unknown>): ServiceState | undefined {
  const service = (typeof row.Service === 'string' && row.Service) || labelsOf(row.Labels)['com.docker.compose.service'];
  if (!service) return undefined;
  const names = row.Names;
  const container = String(row.Name ?? (Array.isArray(names) ? names[0] : names) ?? service);
  const status = String(row.Status ?? '');
  const state = String(row.State ?? '').toLowerCase() || (/^up\b/i.test(status) ? 'running' : /^exited\b/i.test(status) ? 'exited' : 'unknown');
  const health = typeof row.Health === 'string' && row.Health ? row.Health.toLowerCase() : undefined;
  return {
    service,
    container,
    state,
    running: state === 'running',
    ...(health ? { health } : {}),
    ...(typeof row.ExitCode === 'number' ? { exitCode: row.ExitCode } : {}),
  };
}

/** The last `lines` lines of one service's log (empty when it has none). */
export async function composeLogs(project: ComposeProject, service: string, lines: number): Promise<string> {
  const result = await runCompose(project, ['logs', '--no-color', '--tail', String(lines), service], 60_000);
  return [result.stdout, result.stderr].filter((text) => text.trim() !== '').join('\n').trimEnd();
}
