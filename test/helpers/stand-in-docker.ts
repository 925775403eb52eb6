/**
 * Test harness for `up`, `down` and `status` without a container engine: a PATH holding only the
 * stand-in engine (stand-in-docker.mjs, installed as docker / docker-compose / podman) and `node`, real
 * loopback servers standing in for the stack's health endpoints, and a stack written by the real `init`.
 */
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, execaSync } from 'execa';
import { PORT_FLAGS, type HostPorts } from '../../src/stack/model.js';
import { BIN, cleanEnv, runCli } from './cli.js';
import { freePort } from './ports.js';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'stand-in-docker.mjs');

export type StandInTool = 'docker' | 'docker-compose' | 'podman';

export interface StandInCall {
  name: StandInTool;
  args: string[];
}

export interface StandInEngine {
  bin: string;
  log: string;
  /** A clean environment whose PATH is the stand-in bin directory only, plus the given STANDIN_* settings. */
  env(settings?: Record<string, string>): Record<string, string | undefined>;
  calls(): Promise<StandInCall[]>;
}

function toolPath(tool: string): string | undefined {
  const found = execaSync('sh', ['-c', `command -v ${tool}`], { reject: false });
  return found.exitCode === 0 ? String(found.stdout).trim() : undefined;
}

/** The real `ss`, when this machine has it (the port-holder lookup uses it). */
export const ssPath = toolPath('ss');
/** util-linux `script`, which runs a command on a pseudo-terminal. */
export const scriptPath = toolPath('script');

/** Installs the stand-in as each of `tools` in `<root>/bin`, next to `node` (and `ss` when asked). */
export async function installStandIn(root: string, tools: StandInTool[], options: { ss?: boolean } = {}): Promise<StandInEngine> {
  const bin = path.join(root, 'bin');
  await mkdir(bin, { recursive: true });
  await symlink(process.execPath, path.join(bin, 'node'));
  if (options.ss && ssPath) await symlink(ssPath, path.join(bin, 'ss'));
  for (const tool of tools) {
    const wrapper = path.join(bin, tool);
    await writeFile(wrapper, `#!/bin/sh\nSTANDIN_NAME=${tool} exec "${process.execPath}" "${SCRIPT}" "$@"\n`);
    await chmod(wrapper, 0o755);
  }
  const log = path.join(root, 'stand-in-calls.jsonl');
  await writeFile(log, '');
  return {
    bin,
    log,
    env: (settings = {}) => cleanEnv({ PATH: bin, STANDIN_LOG: log, ...settings }),
    calls: async () =>
      (await readFile(log, 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as StandInCall),
  };
}

export const SERVICES = { collector: 'otel-collector', jaeger: 'jaeger', prometheus: 'prometheus', grafana: 'grafana' } as const;

export interface ContainerRow {
  service: string;
  state: 'running' | 'exited' | 'restarting' | 'created';
  exitCode?: number;
  health?: string;
}

/** `compose ps --format json` as Compose >= 2.21 prints it (one object per line) or older v2 (one array). */
export function composePsOutput(rows: ContainerRow[], format: 'lines' | 'array'): string {
  const objects = rows.map((row) => ({
    Command: '"/otelcol-contrib …"',
    ExitCode: row.exitCode ?? 0,
    Health: row.health ?? '',
    ID: 'c0ffee',
    Image: 'image',
    Labels: `com.docker.compose.project=loom,com.docker.compose.service=${row.service}`,
    Name: `loom-${row.service}-1`,
    Project: 'loom',
    Publishers: [],
    Service: row.service,
    State: row.state,
    Status: row.state === 'running' ? 'Up 5 seconds' : `Exited (${row.exitCode ?? 0}) 2 seconds ago`,
  }));
  return format === 'array' ? JSON.stringify(objects) : objects.map((o) => JSON.stringify(o)).join('\n');
}

/** `compose ps` after the collector exited with code 1 while the other parts run. */
export function collectorExited(): string {
  return composePsOutput(
    [
      { service: 'otel-collector', state: 'exited', exitCode: 1 },
      { service: 'jaeger', state: 'running' },
      { service: 'prometheus', state: 'running' },
      { service: 'grafana', state: 'running' },
    ],
    'lines',
  );
}

export function allRunning(format: 'lines' | 'array' = 'lines'): string {
  return composePsOutput(Object.values(SERVICES).map((service) => ({ service, state: 'running' })), format);
}

export interface EndpointBehaviour {
  /** Status of GET / on the collector's health_check port. */
  collectorHealth?: number;
  /** Grafana's /api/health "database" value. */
  grafanaDatabase?: string;
}

export interface StackEndpoints {
  ports: { otlpGrpc: number; collectorHealth: number; jaegerUi: number; prometheus: number; grafana: number };
  /** Paths requested from the HTTP endpoints, e.g. "jaeger GET /api/services". */
  requests: string[];
  close(): Promise<void>;
}

/** Loopback servers answering like the stack's health endpoints: health_check, OTLP gRPC, Jaeger, Prometheus, Grafana. */
export async function startStackEndpoints(behaviour: EndpointBehaviour = {}): Promise<StackEndpoints> {
  const requests: string[] = [];
  const closers: Array<() => Promise<void>> = [];
  const httpServer = async (label: string, answer: (url: string) => { status: number; body: string }) => {
    const server = http.createServer((request, response) => {
      requests.push(`${label} ${request.method} ${request.url}`);
      const { status, body } = answer(request.url ?? '/');
      response.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    return (server.address() as net.AddressInfo).port;
  };
  const collectorHealth = await httpServer('collector', () => {
    const status = behaviour.collectorHealth ?? 200;
    return { status, body: JSON.stringify({ status: status === 200 ? 'Server available' : 'Server not available', upSince: new Date().toISOString() }) };
  });
  const jaegerUi = await httpServer('jaeger', (url) =>
    url.startsWith('/api/services') ? { status: 200, body: JSON.stringify({ data: ['loom-python'], total: 1 }) } : { status: 404, body: '' },
  );
  const prometheus = await httpServer('prometheus', (url) => (url === '/-/ready' ? { status: 200, body: 'Prometheus Server is Ready.\n' } : { status: 404, body: '' }));
  const grafana = await httpServer('grafana', (url) =>
    url === '/api/health' ? { status: 200, body: JSON.stringify({ database: behaviour.grafanaDatabase ?? 'ok', version: '12.2.1' }) } : { status: 404, body: '' },
  );

  // The OTLP trace service over h2c: every Export is answered OK with an empty response.
  const grpc = http2.createServer();
  grpc.on('stream', (stream, headers) => {
    requests.push(`collector gRPC ${headers[':path']}`);
    stream.on('data', () => undefined);
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.alloc(5));
    });
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  grpc.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => grpc.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        for (const session of sessions) session.destroy();
        grpc.close(() => resolve());
      }),
  );
  const otlpGrpc = (grpc.address() as net.AddressInfo).port;

  return {
    ports: { otlpGrpc, collectorHealth, jaegerUi, prometheus, grafana },
    requests,
    close: async () => {
      await Promise.all(closers.map((close) => close()));
    },
  };
}

/** Writes a stack into `dir` with the real `init --yes`, its host ports set to `ports` (free ports for the rest). */
export async function initStack(dir: string, ports: Partial<HostPorts> = {}): Promise<HostPorts> {
  const all = { ...ports } as HostPorts;
  const roles = Object.keys(PORT_FLAGS) as Array<keyof HostPorts>;
  // Under load the kernel can hand the same just-closed port to two calls: keep them distinct.
  const taken = new Set<number>(Object.values(all));
  for (const role of roles) {
    if (all[role] !== undefined) continue;
    let port = await freePort();
    while (taken.has(port)) port = await freePort();
    all[role] = port;
    taken.add(port);
  }
  const flags = roles.flatMap((role) => [PORT_FLAGS[role], String(all[role])]);
  const run = await runCli(['init', '--yes', '--dir', dir, ...flags]);
  if (run.exitCode !== 0) throw new Error(`init failed (${run.exitCode}): ${run.stderr}`);
  return all;
}

/**
 * Runs the CLI on a pseudo-terminal (util-linux `script`), so it may prompt; `keys` are typed into it.
 * Everything it prints comes back in `output`.
 */
export async function runCliInTerminal(args: string[], env: Record<string, string | undefined>, keys: string): Promise<{ exitCode: number; output: string }> {
  const command = ['node', BIN, ...args].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
  if (!scriptPath) throw new Error('util-linux `script` is needed to run the CLI on a terminal');
  // A wide terminal, so prompts are not wrapped; escape codes are dropped from what comes back.
  const result = await execa(scriptPath, ['-qec', `${toolPath('stty') ?? 'stty'} cols 400; ${command}`, '/dev/null'], {
    env: { ...env, SHELL: '/bin/sh', TERM: 'xterm' },
    extendEnv: false,
    reject: false,
    input: keys,
    timeout: 30_000,
  });
  return { exitCode: result.exitCode ?? -1, output: String(result.stdout ?? '').replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '') };
}
