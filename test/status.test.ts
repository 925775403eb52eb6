import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { bundledSources } from './helpers/bundle.js';
import { runCli, tempDir } from './helpers/cli.js';
import { allRunning, composePsOutput, initStack, installStandIn, startStackEndpoints, type StackEndpoints } from './helpers/stand-in-docker.js';

let root: { dir: string; cleanup: () => Promise<void> };
let stackDir: string;
let servers: StackEndpoints | undefined;

beforeEach(async () => {
  root = await tempDir('loom-otel-status-');
  stackDir = path.join(root.dir, 'observability');
});

afterEach(async () => {
  await servers?.close();
  servers = undefined;
  await root.cleanup();
});

interface StatusJson {
  ok: boolean;
  stack: { name: string; dir: string };
  parts: Array<{ part: string; service: string; running: boolean; state: string; healthy: boolean; detail: string; url: string; container?: string }>;
}

describe('loom-otel status (stand-in docker)', () => {
  it('--json: every part running and healthy, with its URL; exit 0 (stand-in docker, JSON lines ps)', async () => {
    servers = await startStackEndpoints();
    const ports = await initStack(stackDir, servers.ports);
    const docker = await installStandIn(root.dir, ['docker']);
    const run = await runCli(['status', '--json', '--dir', stackDir], { env: docker.env({ STANDIN_PS: allRunning('lines') }) });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    const status = JSON.parse(run.stdout) as StatusJson;
    expect(status.ok).toBe(true);
    expect(status.stack).toEqual({ name: 'loom-observability', dir: stackDir });
    expect(status.parts.map((p) => [p.part, p.running, p.healthy, p.url])).toEqual([
      ['collector', true, true, `http://127.0.0.1:${ports.otlpGrpc}`],
      ['jaeger', true, true, `http://127.0.0.1:${ports.jaegerUi}/`],
      ['prometheus', true, true, `http://127.0.0.1:${ports.prometheus}/`],
      ['grafana', true, true, `http://127.0.0.1:${ports.grafana}/`],
    ]);
    expect(await docker.calls()).toContainEqual({
      name: 'docker',
      args: ['compose', '-f', path.join(stackDir, 'docker-compose.yml'), '--project-directory', stackDir, 'ps', '--all', '--format', 'json'],
    });
  });

  it('--json: a stopped part and an unhealthy one make exit 1 (stand-in docker, JSON array ps)', async () => {
    servers = await startStackEndpoints({ collectorHealth: 503 });
    await initStack(stackDir, servers.ports);
    const docker = await installStandIn(root.dir, ['docker']);
    const ps = composePsOutput(
      [
        { service: 'otel-collector', state: 'running' },
        { service: 'jaeger', state: 'exited', exitCode: 137 },
        { service: 'grafana', state: 'running' },
      ],
      'array',
    );
    const run = await runCli(['status', '--json', '--dir', stackDir], { env: docker.env({ STANDIN_PS: ps }) });
    expect(run.exitCode).toBe(1);
    const status = JSON.parse(run.stdout) as StatusJson;
    expect(status.ok).toBe(false);
    const byPart = Object.fromEntries(status.parts.map((p) => [p.part, p]));
    expect(byPart.collector).toMatchObject({ running: true, healthy: false });
    expect(byPart.collector?.detail).toContain('answered 503');
    expect(byPart.jaeger).toMatchObject({ running: false, healthy: false, state: 'exited (exit code 137)' });
    expect(byPart.prometheus).toMatchObject({ running: false, healthy: false, state: 'not created' });
    expect(byPart.grafana).toMatchObject({ running: true, healthy: true });
  });

  it('prints a table of parts and says how to start what is not running (stand-in docker)', async () => {
    servers = await startStackEndpoints();
    const ports = await initStack(stackDir, servers.ports);
    const docker = await installStandIn(root.dir, ['docker']);
    const run = await runCli(['status', '--dir', stackDir], { env: docker.env({ STANDIN_PS: '' }) });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/part\s+running\s+healthy\s+URL/);
    expect(run.stdout).toMatch(new RegExp(`jaeger\\s+no: not created\\s+-\\s+http://127\\.0\\.0\\.1:${ports.jaegerUi}/`));
    expect(run.stdout).toContain(`\`loom-otel up --dir ${stackDir}\` starts the stack`);
  });

  it('reads podman-style ps rows (service in the labels, Names as a list) (stand-in podman)', async () => {
    servers = await startStackEndpoints();
    await initStack(stackDir, servers.ports);
    const podman = await installStandIn(root.dir, ['podman']);
    const rows = ['otel-collector', 'jaeger', 'prometheus', 'grafana'].map((service) => ({
      Id: 'c0ffee',
      Names: [`loom_${service}_1`],
      State: 'running',
      Status: 'Up 3 seconds',
      ExitCode: 0,
      Labels: { 'com.docker.compose.project': 'loom-observability', 'com.docker.compose.service': service, 'io.podman.compose.project': 'loom-observability' },
    }));
    const run = await runCli(['status', '--json', '--engine', 'podman', '--dir', stackDir], { env: podman.env({ STANDIN_PS: JSON.stringify(rows) }) });
    expect(run.exitCode, run.stderr).toBe(0);
    const status = JSON.parse(run.stdout) as StatusJson;
    expect(status.parts.map((p) => [p.part, p.container, p.running, p.healthy])).toEqual([
      ['collector', 'loom_otel-collector_1', true, true],
      ['jaeger', 'loom_jaeger_1', true, true],
      ['prometheus', 'loom_prometheus_1', true, true],
      ['grafana', 'loom_grafana_1', true, true],
    ]);
  });

  it('without a stack, exits 1 and says to run init (stand-in docker)', async () => {
    const docker = await installStandIn(root.dir, ['docker']);
    const run = await runCli(['status', '--dir', stackDir], { env: docker.env() });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('No loom-otel stack in');
    expect(run.stderr).toContain('loom-otel init');
  });
});

describe('start-up cost of status and down (stand-in docker)', () => {
  it('status and down never load the OTel SDK or gRPC (stand-in docker)', async () => {
    servers = await startStackEndpoints();
    await initStack(stackDir, servers.ports);
    const docker = await installStandIn(root.dir, ['docker']);
    const moduleLog = path.join(root.dir, 'modules.txt');
    // A resolve hook that records every module the CLI loads.
    const hooks = `import{appendFileSync}from"node:fs";export async function resolve(s,c,n){const r=await n(s,c);appendFileSync(${JSON.stringify(moduleLog)},r.url+"\\n");return r}`;
    const register = `import{register}from"node:module";register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)})`;
    const env = docker.env({ STANDIN_PS: allRunning(), NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(register)}` });
    for (const args of [['status', '--dir', stackDir], ['down', '--dir', stackDir]]) {
      const run = await runCli(args, { env });
      expect(run.exitCode, run.stderr).toBe(0);
    }
    const loaded = bundledSources((await readFile(moduleLog, 'utf8')).split('\n'));
    expect(loaded).toContain('src/commands/status.ts');
    expect(loaded).toContain('src/checks/health.ts');
    expect(loaded.filter((source) => /@opentelemetry|@grpc|protobufjs/.test(source))).toEqual([]);
  });
});
