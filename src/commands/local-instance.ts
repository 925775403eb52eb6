/**
 * status and down on the stack of `up --local`: find its PID file (the stack directory with a manifest,
 * else the per-user state directory) and tell a live instance from a stale file.
 */
import { httpGet } from '../checks/health.js';
import { findInstance, stateDir, type FoundInstance, type LocalInstance } from '../local/lifecycle.js';
import { LOCAL_STACK_PID_HEADER } from '../stack/model.js';
import { isLoopbackHost, portOf } from '../otlp/url.js';

export type { FoundInstance, LocalInstance };

/** The `up --local` recorded for this stack directory (with a manifest) or for this user (without). */
export function findLocalInstance(stackDirWithManifest: string | undefined): Promise<FoundInstance | undefined> {
  return findInstance(stateDir(stackDirWithManifest));
}

/** Does the recorded process answer on its health port as itself? (Guards against a PID reused by another program.) */
export async function answersAsItself(instance: LocalInstance, timeoutMs = 2_000): Promise<boolean> {
  const answer = await httpGet(`http://127.0.0.1:${instance.ports.collectorHealth}/`, timeoutMs);
  return !('error' in answer) && answer.headers[LOCAL_STACK_PID_HEADER] === String(instance.pid);
}

/** The instance as --json prints it. */
export function instanceJson(found: FoundInstance) {
  const { instance } = found;
  return {
    pid: instance.pid,
    running: found.state === 'running',
    ports: instance.ports,
    startedAt: instance.startedAt,
    detached: instance.detached,
    pidFile: found.pidFile,
    ...(instance.logFile ? { logFile: instance.logFile } : {}),
    ...(found.state === 'gone' ? { stalePidFileRemoved: true } : {}),
  };
}

/** "The up --local (PID n) is gone ..." for status and down. */
export function goneMessage(found: FoundInstance): string {
  const { instance } = found;
  return (
    `loom-otel up --local (PID ${instance.pid}, started ${instance.startedAt}) is gone: it ended without stopping cleanly (crashed or killed). ` +
    `Removed its stale PID file ${found.pidFile}.${instance.logFile ? ` Its log: ${instance.logFile}` : ''}`
  );
}

/** The running `up --local` an OTLP endpoint on this machine points at (one of its two OTLP ports), if any. */
export async function localStackServing(endpoint: string, stackDirWithManifest: string | undefined): Promise<LocalInstance | undefined> {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return undefined;
  }
  // 0.0.0.0 as a destination connects to this machine too.
  if (!isLoopbackHost(url.hostname) && url.hostname !== '0.0.0.0') return undefined;
  const found = await findLocalInstance(stackDirWithManifest);
  if (found?.state !== 'running') return undefined;
  const port = portOf(url);
  const { otlpGrpc, otlpHttp } = found.instance.ports;
  return port === otlpGrpc || port === otlpHttp ? found.instance : undefined;
}
