/**
 * Where a running `up --local` leaves its trace on disk, so `status`, `down` and a second `up --local`
 * find it: a PID file (JSON: PID, ports, log file) and, when detached, its log. Both live in the stack
 * directory when it has a manifest, else in a per-user state directory ($XDG_STATE_HOME/loom-otel, or
 * ~/.local/state/loom-otel). Loads nothing heavy: status and down import it.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LocalPortRole } from '../stack/model.js';

export const PID_FILE = 'up-local.pid';
export const LOG_FILE = 'up-local.log';

export interface LocalInstance {
  pid: number;
  /** The ports actually bound. */
  ports: Record<LocalPortRole, number>;
  host: string;
  startedAt: string;
  /** Started with --detach: its output goes to `logFile`. */
  detached: boolean;
  logFile?: string;
  /** The stack directory whose manifest gave the ports, when there was one. */
  stackDir?: string;
}

/** The per-user state directory of the XDG Base Directory specification. */
export function userStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  // The specification ignores a relative path.
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'loom-otel');
}

/** Where the PID and log files go: the stack directory when it holds a manifest, else the user state directory. */
export function stateDir(stackDirWithManifest: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return stackDirWithManifest ?? userStateDir(env);
}

export function pidFilePath(dir: string): string {
  return path.join(dir, PID_FILE);
}

export function logFilePath(dir: string): string {
  return path.join(dir, LOG_FILE);
}

export async function writeInstance(dir: string, instance: LocalInstance): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(pidFilePath(dir), `${JSON.stringify(instance, null, 2)}\n`, { mode: 0o600 });
}

/** The instance recorded in `dir`, or undefined when there is no PID file or it is not one of ours. */
export async function readInstance(dir: string): Promise<LocalInstance | undefined> {
  let text: string;
  try {
    text = await readFile(pidFilePath(dir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const data = JSON.parse(text) as Partial<LocalInstance>;
    if (!Number.isSafeInteger(data.pid) || (data.pid ?? 0) <= 0 || typeof data.ports !== 'object' || data.ports === null) return undefined;
    return data as LocalInstance;
  } catch {
    return undefined;
  }
}

/** Removes the PID file, but only while it still names `pid` (a newer instance may have replaced it). */
export async function removeInstance(dir: string, pid: number): Promise<void> {
  const current = await readInstance(dir);
  if (current && current.pid !== pid) return;
  await rm(pidFilePath(dir), { force: true });
}

/** A zombie (ended, not yet reaped by its parent) still takes signal 0; Linux's /proc tells it apart. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** Is a process with this PID alive? (EPERM: it exists but belongs to someone else.) */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

export type FoundInstance =
  | { state: 'running'; instance: LocalInstance; pidFile: string }
  /** The PID file named a process that is gone (crashed or killed): the file was removed. */
  | { state: 'gone'; instance: LocalInstance; pidFile: string };

/** Reads the PID file in `dir`; a stale one (its process is gone) is removed and reported as such. */
export async function findInstance(dir: string): Promise<FoundInstance | undefined> {
  const instance = await readInstance(dir);
  if (!instance) return undefined;
  const pidFile = pidFilePath(dir);
  if (processAlive(instance.pid)) return { state: 'running', instance, pidFile };
  await removeInstance(dir, instance.pid);
  return { state: 'gone', instance, pidFile };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends SIGTERM (up --local then closes its ports and prints its summary) and waits up to `timeoutMs`
 * for the process to end. Returns false when it is still alive then.
 */
export async function stopInstance(instance: LocalInstance, timeoutMs: number): Promise<boolean> {
  try {
    process.kill(instance.pid, 'SIGTERM');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return true;
    throw error;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!processAlive(instance.pid)) return true;
    await sleep(50);
  }
  return !processAlive(instance.pid);
}

/** One line naming the ports, for messages: "OTLP gRPC 4317, OTLP HTTP 4318, viewer 16686, ...". */
export function describePorts(ports: Record<LocalPortRole, number>): string {
  return `OTLP gRPC ${ports.otlpGrpc}, OTLP HTTP ${ports.otlpHttp}, viewer ${ports.jaegerUi}, metrics ${ports.collectorMetrics}, health ${ports.collectorHealth}`;
}
