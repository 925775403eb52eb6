/**
 * Container engines that can run the generated compose file: the Docker Compose plugin, the standalone
 * docker-compose (v2 only) and Podman's `podman compose`. Found by asking each for its version, in that
 * order, through execa; nothing here prints.
 */
import { execa } from 'execa';
import { ActionError } from '../errors.js';
import { explainEngineFailure, lastLines } from './failures.js';

export const ENGINE_NAMES = ['docker', 'docker-compose', 'podman'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

export interface Engine {
  name: EngineName;
  /** The argv that runs Compose, e.g. ['docker', 'compose']. */
  compose: readonly string[];
  /** The engine's own CLI (docker or podman), for `info` and `ps`. */
  cli: 'docker' | 'podman';
  /** Compose's version as it printed it. */
  version: string;
}

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The executable is not installed (ENOENT). */
  missing: boolean;
  timedOut: boolean;
}

/** Runs a command without throwing on failure; output is captured. */
export async function runCommand(argv: readonly string[], options: { timeoutMs?: number; cwd?: string } = {}): Promise<CommandResult> {
  const [file, ...args] = argv as [string, ...string[]];
  const result = await execa(file, args, {
    reject: false,
    stdin: 'ignore',
    ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  return {
    exitCode: result.exitCode ?? -1,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    missing: result.code === 'ENOENT',
    timedOut: Boolean(result.timedOut),
  };
}

export function composeLabel(engine: Pick<Engine, 'compose'>): string {
  return engine.compose.join(' ');
}

/** What asking one engine for its Compose version found. */
type Finding =
  | { status: 'ok'; engine: Engine }
  | { status: 'missing' | 'no-compose' | 'obsolete' | 'no-answer'; detail: string };

const CANDIDATES: Readonly<Record<EngineName, { compose: readonly string[]; cli: 'docker' | 'podman' }>> = {
  docker: { compose: ['docker', 'compose'], cli: 'docker' },
  'docker-compose': { compose: ['docker-compose'], cli: 'docker' },
  podman: { compose: ['podman', 'compose'], cli: 'podman' },
};

/** Versions print as "Docker Compose version v2.29.1", "docker-compose version 1.29.2, build ...". */
function parseVersion(text: string): string | undefined {
  return /version\s+v?(\d+\.\d+\.\d+\S*?)(?:,|\s|$)/i.exec(text)?.[1];
}

async function probe(name: EngineName, timeoutMs: number): Promise<Finding> {
  const candidate = CANDIDATES[name];
  const result = await runCommand([...candidate.compose, 'version'], { timeoutMs });
  if (result.missing) return { status: 'missing', detail: `${candidate.compose[0]} is not installed` };
  // Killed at the timeout: it is stuck, which says nothing about whether Compose is installed.
  if (result.timedOut) return { status: 'no-answer', detail: `\`${composeLabel(candidate)} version\` did not answer within ${(timeoutMs / 1000).toFixed(1)} s` };
  const version = parseVersion(`${result.stdout}\n${result.stderr}`);
  if (result.exitCode !== 0 || !version) {
    const detail =
      name === 'docker'
        ? 'docker is installed without the Compose plugin (`docker compose`)'
        : name === 'podman'
          ? 'podman is installed without a Compose provider (`podman compose`)'
          : `\`docker-compose version\` failed: ${lastLines(result.stderr || result.stdout, 1)}`;
    return { status: 'no-compose', detail };
  }
  if (name === 'docker-compose' && version.startsWith('1.')) {
    return {
      status: 'obsolete',
      detail:
        `docker-compose ${version} is Compose v1: end-of-life, and it rejects the Compose specification's top-level ` +
        '`name:` that the generated docker-compose.yml uses',
    };
  }
  return { status: 'ok', engine: { name, compose: candidate.compose, cli: candidate.cli, version } };
}

const INSTALL_FIX =
  'Install Docker with the Compose plugin (Docker Desktop, or `docker-compose-plugin` from Docker\'s apt/dnf repository) or Podman, ' +
  'or run `loom-otel up --local` to run the stack in this process without Docker.';

/** Longest one `compose version` may take: it answers at once unless the engine is stuck. */
const VERSION_TIMEOUT_MS = 15_000;

/**
 * The engine to use: the one asked for, else the first that answers in ENGINE_NAMES order. Each
 * `compose version` call is killed after VERSION_TIMEOUT_MS, so a hung engine cannot hold us; `timeoutMs`
 * bounds the whole detection (no engine is asked once it has passed).
 */
export async function detectEngine(choice?: EngineName, options: { timeoutMs?: number } = {}): Promise<Engine> {
  const names = choice ? [choice] : ENGINE_NAMES;
  const deadline = Date.now() + (options.timeoutMs ?? VERSION_TIMEOUT_MS * names.length);
  const findings: Finding[] = [];
  for (const name of names) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    const finding = await probe(name, Math.min(VERSION_TIMEOUT_MS, left));
    if (finding.status === 'ok') return finding.engine;
    findings.push(finding);
  }
  const details = findings.map((f) => (f.status === 'ok' ? '' : f.detail));
  const obsolete = findings.some((f) => f.status === 'obsolete');
  // Engines left unasked at the deadline may be installed.
  const allMissing = findings.length === names.length && findings.every((f) => f.status === 'missing');
  const message = allMissing
    ? choice
      ? `${details[0]}.`
      : 'No container engine found: docker, docker-compose and podman are not installed.'
    : `No usable Compose found: ${details.join('; ')}.`;
  const stuck = findings.some((f) => f.status === 'no-answer');
  const fix = stuck
    ? 'Restart the engine that did not answer (Docker Desktop, `sudo systemctl restart docker`, or `podman machine stop && podman machine start`), then re-run. Or run `loom-otel up --local` to run the stack without Docker.'
    : obsolete
    ? 'Install Compose v2: the Docker Compose plugin (`docker compose`; Debian/Ubuntu: `apt install docker-compose-plugin` from Docker\'s repository, or Docker Desktop). Or run `loom-otel up --local` to run the stack without Docker.'
    : INSTALL_FIX;
  throw new ActionError(message, fix);
}

/**
 * Fails with the reason and the fix when the engine is installed but cannot run containers (daemon
 * stopped, socket not accessible). Standalone docker-compose without a docker CLI is left to Compose.
 */
export async function ensureEngineRunning(engine: Engine): Promise<void> {
  const timeoutMs = 30_000;
  const result = await runCommand([engine.cli, 'info'], { timeoutMs });
  if (result.missing && engine.name === 'docker-compose') return;
  if (result.exitCode === 0) return;
  if (result.timedOut) {
    throw new ActionError(
      `\`${engine.cli} info\` did not answer within ${timeoutMs / 1000} s: the engine is starting or stuck.`,
      `Wait until ${engine.cli === 'podman' ? 'Podman' : 'Docker'} reports that it is running (or restart it), then re-run.`,
    );
  }
  throw explainEngineFailure(engine, result.stderr || result.stdout) ??
    new ActionError(`\`${engine.cli} info\` failed: ${lastLines(result.stderr || result.stdout, 3)}`, `Check that ${engine.cli} works: run \`${engine.cli} info\`.`);
}
