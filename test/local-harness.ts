/**
 * Runs the built CLI's `up --local` the way a user does, on random ports (every port flag 0), and reads
 * the ports from its first --json line. Shared by the test/local*.test.ts files.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { BIN, cleanEnv } from './helpers/cli.js';

export interface LocalPorts {
  otlpGrpc: number;
  otlpHttp: number;
  jaegerUi: number;
  collectorMetrics: number;
  collectorHealth: number;
}

export interface StoppedRun {
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  /** The --json lines, parsed. */
  events: Array<Record<string, unknown>>;
}

export interface LocalRun {
  ports: LocalPorts;
  /** http://127.0.0.1:<port> per role. */
  url: (role: keyof LocalPorts, path?: string) => string;
  stdout: () => string;
  stderr: () => string;
  /** Sends the signal (SIGTERM by default) and waits for the process to end. */
  stop: (signal?: NodeJS.Signals) => Promise<StoppedRun>;
}

export const RANDOM_PORT_FLAGS = ['--otlp-grpc-port', '0', '--otlp-http-port', '0', '--jaeger-port', '0', '--metrics-port', '0', '--health-port', '0'];

const running = new Set<ResultPromise>();

/** Starts `up --local --json` with random ports plus `args`; resolves once it says where it listens. */
export async function startLocal(args: string[] = [], options: { env?: Record<string, string | undefined>; cwd?: string } = {}): Promise<LocalRun> {
  // A state directory of its own, so runs in parallel never meet as "a second up --local".
  const stateHome = await mkdtemp(path.join(tmpdir(), 'loom-otel-state-'));
  const child = execa('node', [BIN, 'up', '--local', '--json', ...RANDOM_PORT_FLAGS, ...args], {
    env: { ...(options.env ?? cleanEnv()), XDG_STATE_HOME: stateHome },
    extendEnv: false,
    reject: false,
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const check = () => {
      const first = stdout.split('\n')[0];
      if (stdout.includes('\n') && first) {
        child.stdout!.off('data', check);
        resolve(JSON.parse(first) as Record<string, unknown>);
      }
    };
    child.stdout!.on('data', check);
    void child.then((result) => reject(new Error(`up --local exited (${result.exitCode}) before listening:\n${stdout}\n${stderr}`)));
  });
  if (listening.event !== 'listening') throw new Error(`unexpected first line: ${JSON.stringify(listening)}`);
  const ports = listening.ports as LocalPorts;
  return {
    ports,
    url: (role, path = '') => `http://127.0.0.1:${ports[role]}${path}`,
    stdout: () => stdout,
    stderr: () => stderr,
    stop: async (signal = 'SIGTERM') => {
      child.kill(signal);
      const result = await child;
      running.delete(child);
      await rm(stateHome, { recursive: true, force: true });
      const events = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      return { exitCode: result.exitCode, signal: result.signal, stdout, stderr, events };
    },
  };
}

/** For afterEach: kills whatever a failed test left running. */
export async function stopAllLocal(): Promise<void> {
  for (const child of running) {
    child.kill('SIGKILL');
    await child;
  }
  running.clear();
}

export async function getJson(url: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}
