/**
 * Before `compose up`: is every host port of the stack free? A port counts as taken when it cannot be
 * bound on the address the stack publishes it on, or when something on loopback accepts a connection.
 * Who holds it is told best-effort: `ss -ltnp` for a local process, the engine for a container.
 */
import net from 'node:net';
import type { StackModel } from '../stack/model.js';
import { runCommand, type Engine } from './engine.js';
import type { PortConflict } from './failures.js';

/** Processes that hold a port on behalf of a container: ask the engine which one. */
const CONTAINER_PROXIES = new Set(['docker-proxy', 'rootlessport', 'rootlesskit', 'com.docker.backend', 'vpnkit', 'gvproxy', 'slirp4netns', 'pasta', 'conmon']);

/**
 * The stack's ports that something else holds. Ports of parts whose container is running are this
 * stack's own (an `up` of a stack that is already up) and are not checked. `timeoutMs` bounds the
 * look-up of who holds them.
 */
export async function findPortConflicts(model: StackModel, runningServices: ReadonlySet<string>, engine?: Engine, timeoutMs = 10_000): Promise<PortConflict[]> {
  const deadline = Date.now() + timeoutMs;
  const candidates = model.parts.filter((part) => !runningServices.has(part.service)).flatMap((part) => part.ports);
  const taken = (
    await Promise.all(candidates.map(async (port) => ((await isPortTaken(port.hostIp, port.host)) ? port : undefined)))
  ).filter((port) => port !== undefined);
  if (taken.length === 0) return [];
  const listeners = await listeningProcesses(timeoutMs);
  return Promise.all(
    taken.map(async (port) => {
      const holder = await describeHolder(port.host, listeners.get(port.host), engine, Math.max(1, deadline - Date.now()));
      return { port: port.host, role: port.role, ...(holder ? { holder } : {}) };
    }),
  );
}

export async function isPortTaken(hostIp: string, port: number): Promise<boolean> {
  const bind = await new Promise<'free' | 'in-use' | 'unknown'>((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRINUSE' ? 'in-use' : 'unknown'));
    server.listen({ host: hostIp, port, exclusive: true }, () => server.close(() => resolve('free')));
  });
  if (bind === 'in-use') return true;
  // Some systems let a loopback bind succeed while another process holds the wildcard address.
  return acceptsConnection('127.0.0.1', port, 300);
}

function acceptsConnection(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (result: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

interface Listener {
  process?: string;
  pid?: number;
}

/** Listening TCP ports and their processes from `ss -ltnp` (process names only for what we may see). */
async function listeningProcesses(timeoutMs: number): Promise<Map<number, Listener>> {
  const listeners = new Map<number, Listener>();
  const result = await runCommand(['ss', '-ltnp'], { timeoutMs });
  if (result.exitCode !== 0) return listeners;
  for (const line of parseSsListeners(result.stdout)) {
    if (!listeners.get(line.port)?.process) listeners.set(line.port, line);
  }
  return listeners;
}

/** Parses `ss -ltnp`: "LISTEN 0 511 127.0.0.1:4317 0.0.0.0:* users:(("node",pid=1234,fd=21))". */
export function parseSsListeners(text: string): Array<Listener & { port: number }> {
  return text.split('\n').flatMap((line) => {
    const columns = line.trim().split(/\s+/);
    if (columns[0] !== 'LISTEN' || columns.length < 5) return [];
    const port = Number(/:(\d+)$/.exec(columns[3] ?? '')?.[1]);
    if (!Number.isInteger(port)) return [];
    const owner = /users:\(\("([^"]+)",pid=(\d+)/.exec(line);
    return [{ port, ...(owner ? { process: owner[1], pid: Number(owner[2]) } : {}) }];
  });
}

async function describeHolder(port: number, listener: Listener | undefined, engine: Engine | undefined, timeoutMs: number): Promise<string | undefined> {
  if (listener?.process && !CONTAINER_PROXIES.has(listener.process)) return `${listener.process} (pid ${listener.pid})`;
  if (engine) {
    const result = await runCommand([engine.cli, 'ps', '--filter', `publish=${port}`, '--format', '{{.Names}}'], { timeoutMs });
    const names = result.exitCode === 0 ? result.stdout.split('\n').map((n) => n.trim()).filter(Boolean) : [];
    if (names.length > 0) return `the container ${names.join(', ')} (see \`${engine.cli} ps\`)`;
  }
  return listener?.process ? `a container (${listener.process})` : undefined;
}
