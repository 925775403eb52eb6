/**
 * Runs the built CLI the way a user does: `node bin/loom-otel.js ...` in a child process.
 * `npm test` builds first, so dist/ is current.
 */
import { execa, type Options, type Result } from 'execa';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin/loom-otel.js');

/**
 * Each test process's own per-user state directory (where `up --local` keeps its PID file without a
 * stack manifest), so tests never see the user's real one, nor each other's.
 */
export const TEST_STATE_HOME = path.join(tmpdir(), `loom-otel-test-state-${process.pid}`);

/**
 * An environment without the caller's OTEL_* variables, CI flag, colours or npm_command (set when the
 * tests run under `npx vitest`: it would make hints print `npx loom-otel`), so tests see only what they set.
 */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { XDG_STATE_HOME: TEST_STATE_HOME };
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('OTEL_') || key === 'XDG_STATE_HOME' || key === 'CI' || key === 'FORCE_COLOR' || key === 'NO_COLOR' || key === 'DEPLOYMENT_ENV' || key === 'npm_command') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

type RunOptions = Options & { env?: Record<string, string | undefined> };

async function runScript(script: string, args: string[], options: RunOptions, extraEnv: Record<string, string> = {}): Promise<CliRun> {
  const result: Result = await execa('node', [script, ...args], {
    reject: false,
    timeout: 60_000,
    ...options,
    env: { ...(options.env ?? cleanEnv()), ...extraEnv },
    extendEnv: false,
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
}

/** Runs `loom-otel args...`; never throws on a non-zero exit. */
export function runCli(args: string[], options: RunOptions = {}): Promise<CliRun> {
  return runScript(BIN, args, options);
}

/**
 * Runs `loom-otel args...` as `npx loom-otel` does: npm sets npm_command=exec and starts the package's bin
 * from a node_modules folder (here a link to this checkout, in a temp project of its own).
 */
export async function runCliAsNpx(args: string[], options: RunOptions = {}): Promise<CliRun> {
  const project = await tempDir('loom-otel-npx-');
  try {
    await mkdir(path.join(project.dir, 'node_modules'));
    await symlink(ROOT, path.join(project.dir, 'node_modules', 'loom-otel'), 'dir');
    return await runScript(path.join(project.dir, 'node_modules', 'loom-otel', 'bin', 'loom-otel.js'), args, options, { npm_command: 'exec' });
  } finally {
    await project.cleanup();
  }
}

/** A fresh temp directory, removed by the returned cleanup. */
export async function tempDir(prefix = 'loom-otel-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Every file under dir (relative paths), with its content. */
export async function readFiles(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    files[path.relative(dir, full)] = await readFile(full, 'utf8');
  }
  return files;
}
