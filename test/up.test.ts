import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { runCli, tempDir } from './helpers/cli.js';
import { freePort } from './helpers/ports.js';
import {
  allRunning,
  collectorExited,
  initStack,
  installStandIn,
  runCliInTerminal,
  ssPath,
  startStackEndpoints,
  type StackEndpoints,
} from './helpers/stand-in-docker.js';
import { requireTool } from './helpers/validators.js';

let root: { dir: string; cleanup: () => Promise<void> };
let stackDir: string;
const stops: Array<() => Promise<void>> = [];

beforeEach(async () => {
  root = await tempDir('loom-otel-up-');
  stackDir = path.join(root.dir, 'observability');
});

afterEach(async () => {
  while (stops.length > 0) await stops.pop()?.();
  await root.cleanup();
});

async function endpoints(behaviour: Parameters<typeof startStackEndpoints>[0] = {}): Promise<StackEndpoints> {
  const started = await startStackEndpoints(behaviour);
  stops.push(() => started.close());
  return started;
}

const composeGlobals = () => ['-f', path.join(stackDir, 'docker-compose.yml'), '--project-directory', stackDir];

describe('loom-otel up (stand-in docker)', () => {
  it('runs compose up -d, waits for every part, then prints the URLs and the export lines (stand-in docker)', async () => {
    const servers = await endpoints();
    const ports = await initStack(stackDir, servers.ports);
    const docker = await installStandIn(root.dir, ['docker']);
    // The containers are already running (an `up` twice): their ports are the stack's own, not conflicts.
    const run = await runCli(['up', '--dir', stackDir, '--timeout', '20'], { env: docker.env({ STANDIN_PS: allRunning() }) });

    expect(run.exitCode, run.stderr).toBe(0);
    const calls = await docker.calls();
    expect(calls).toContainEqual({ name: 'docker', args: ['compose', 'version'] });
    expect(calls).toContainEqual({ name: 'docker', args: ['info'] });
    expect(calls).toContainEqual({ name: 'docker', args: ['compose', ...composeGlobals(), 'up', '-d'] });

    expect(run.stdout).toContain('is up: 4 parts healthy');
    expect(run.stdout).toMatch(new RegExp(`Jaeger UI\\s+http://127\\.0\\.0\\.1:${ports.jaegerUi}/`));
    expect(run.stdout).toMatch(new RegExp(`Grafana\\s+http://127\\.0\\.0\\.1:${ports.grafana}/\\s+user admin, password: GF_SECURITY_ADMIN_PASSWORD in .*\\.env`));
    expect(run.stdout).toMatch(new RegExp(`Prometheus\\s+http://127\\.0\\.0\\.1:${ports.prometheus}/`));
    expect(run.stdout).toMatch(new RegExp(`OTLP HTTP\\s+http://127\\.0\\.0\\.1:${ports.otlpHttp}`));
    expect(run.stdout).toContain(`export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:${ports.otlpGrpc}\n`);
    expect(run.stdout).toContain('export OTEL_EXPORTER_OTLP_PROTOCOL=grpc\n');
    expect(run.stdout).toContain('export OTEL_SERVICE_NAME=my-agent\n');
    expect(run.stdout).toContain('export DEPLOYMENT_ENV=development\n');
    // Every probe of the model was answered by the stand-in endpoints.
    expect(servers.requests).toEqual(
      expect.arrayContaining([
        'collector GET /',
        'collector gRPC /opentelemetry.proto.collector.trace.v1.TraceService/Export',
        'jaeger GET /api/services',
        'prometheus GET /-/ready',
        'grafana GET /api/health',
      ]),
    );
    // Not a terminal: one plain line per part as it turns healthy, no escape codes.
    expect(run.stderr).toMatch(/\[ok\]\s+collector\s+healthy after/);
    expect(run.stderr).not.toContain('\u001b[');
  });

  it('--json prints one JSON document and no progress lines (stand-in docker)', async () => {
    const servers = await endpoints();
    const ports = await initStack(stackDir, servers.ports);
    const docker = await installStandIn(root.dir, ['docker']);
    const run = await runCli(['up', '--json', '--dir', stackDir], { env: docker.env({ STANDIN_PS: allRunning('array') }) });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout) as { ok: boolean; parts: Array<{ part: string; healthy: boolean }>; env: Record<string, string> };
    expect(result.ok).toBe(true);
    expect(result.parts.map((p) => [p.part, p.healthy])).toEqual([
      ['collector', true],
      ['jaeger', true],
      ['prometheus', true],
      ['grafana', true],
    ]);
    expect(result.env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe(`http://127.0.0.1:${ports.otlpGrpc}`);
  });

  it('with no engine installed, says so and suggests up --local (stand-in docker absent)', async () => {
    await initStack(stackDir);
    const nothing = await installStandIn(root.dir, []);
    const run = await runCli(['up', '--dir', stackDir], { env: nothing.env() });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('No container engine found: docker, docker-compose and podman are not installed.');
    expect(run.stderr).toContain('loom-otel up --local');
  });

  it('rejects docker-compose v1 when the Compose plugin is missing, and names the fix (stand-in docker)', async () => {
    await initStack(stackDir);
    const engines = await installStandIn(root.dir, ['docker', 'docker-compose']);
    const run = await runCli(['up', '--dir', stackDir], { env: engines.env({ STANDIN_COMPOSE: 'absent', STANDIN_COMPOSE_VERSION: '1.29.2' }) });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('docker is installed without the Compose plugin');
    expect(run.stderr).toContain('docker-compose 1.29.2 is Compose v1');
    expect(run.stderr).toContain('`name:`');
    expect(run.stderr).toContain('docker-compose-plugin');
    expect((await engines.calls()).some((c) => c.args.includes('up'))).toBe(false);
  });

  it('uses standalone docker-compose v2 when the plugin is missing (stand-in docker)', async () => {
    const servers = await endpoints();
    await initStack(stackDir, servers.ports);
    const engines = await installStandIn(root.dir, ['docker', 'docker-compose']);
    const run = await runCli(['up', '--dir', stackDir], {
      env: engines.env({ STANDIN_COMPOSE: 'absent', STANDIN_COMPOSE_VERSION: '2.24.6', STANDIN_PS: allRunning() }),
    });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(await engines.calls()).toContainEqual({ name: 'docker-compose', args: [...composeGlobals(), 'up', '-d'] });
  });

  it('when the engine is not running, explains how to start it and suggests up --local (stand-in docker)', async () => {
    await initStack(stackDir);
    const docker = await installStandIn(root.dir, ['docker']);
    const run = await runCli(['up', '--dir', stackDir], { env: docker.env({ STANDIN_DAEMON: 'down' }) });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('The Docker engine is not running');
    expect(run.stderr).toContain('sudo systemctl start docker');
    expect(run.stderr).toContain('loom-otel up --local');
    expect((await docker.calls()).some((c) => c.args.includes('up'))).toBe(false);
  });

  it('names a taken host port, its part and its holder, and does not start anything (stand-in docker)', async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    stops.push(() => new Promise((resolve) => squatter.close(() => resolve())));
    const jaegerUi = (squatter.address() as net.AddressInfo).port;
    await initStack(stackDir, { jaegerUi });
    const docker = await installStandIn(root.dir, ['docker'], { ss: true });
    const run = await runCli(['up', '--dir', stackDir], { env: docker.env() });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(`Host port already taken by something else: ${jaegerUi} (jaeger: Jaeger UI + query API)`);
    // `ss -ltnp` names the process (this test's own node) when the machine has ss.
    if (ssPath) expect(run.stderr).toContain(`held by node (pid ${process.pid})`);
    expect(run.stderr).toContain(`--jaeger-port <free port>`);
    expect((await docker.calls()).some((c) => c.args.includes('up'))).toBe(false);
  });

  it('asks the engine which container holds a taken port when no process can be seen (stand-in docker)', async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    stops.push(() => new Promise((resolve) => squatter.close(() => resolve())));
    const grafana = (squatter.address() as net.AddressInfo).port;
    await initStack(stackDir, { grafana });
    const docker = await installStandIn(root.dir, ['docker']);
    const run = await runCli(['up', '--dir', stackDir], { env: docker.env({ STANDIN_PUBLISHERS: JSON.stringify({ [grafana]: 'old-stack-grafana-1' }) }) });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(`${grafana} (grafana: Grafana UI), held by the container old-stack-grafana-1`);
    expect(run.stderr).toContain('--grafana-port <free port>');
  });

  it('explains a port Docker could not publish, naming the part (stand-in podman)', async () => {
    const ports = await initStack(stackDir);
    const podman = await installStandIn(root.dir, ['podman']);
    const run = await runCli(['up', '--dir', stackDir, '--engine', 'podman'], {
      env: podman.env({ STANDIN_UP: 'port-allocated', STANDIN_UP_PORT: String(ports.prometheus) }),
    });
    expect(run.exitCode).toBe(1);
    expect(await podman.calls()).toContainEqual({ name: 'podman', args: ['compose', ...composeGlobals(), 'up', '-d'] });
    expect(run.stderr).toContain(`${ports.prometheus} (prometheus: Prometheus UI + API)`);
    expect(run.stderr).toContain('--prometheus-port <free port>');
  });

  it('explains an image that cannot be pulled, naming the image (stand-in docker)', async () => {
    await initStack(stackDir);
    const docker = await installStandIn(root.dir, ['docker']);
    const run = await runCli(['up', '--dir', stackDir], { env: docker.env({ STANDIN_UP: 'pull-failure' }) });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('Could not pull the image otel/opentelemetry-collector-contrib:0.158.0');
    expect(run.stderr).toContain('registry-1.docker.io');
    expect(run.stderr).toMatch(/Fix: Check the network .*proxy/);
  });

  it('shows the log tail of a part that never turns healthy and exits 1 (stand-in docker)', async () => {
    const servers = await endpoints({ grafanaDatabase: 'failing' });
    await initStack(stackDir, servers.ports);
    const docker = await installStandIn(root.dir, ['docker']);
    const run = await runCli(['up', '--dir', stackDir, '--timeout', '1.5'], {
      env: docker.env({ STANDIN_PS: allRunning(), STANDIN_LOGS: 'logger=sqlstore msg="database is locked"\nlogger=server msg="shutting down"' }),
    });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('grafana did not turn healthy within 1.5 s');
    expect(run.stderr).toContain('answered 200 with database "failing"');
    expect(run.stderr).toContain('grafana-1  | logger=sqlstore msg="database is locked"');
    expect(await docker.calls()).toContainEqual({ name: 'docker', args: ['compose', ...composeGlobals(), 'logs', '--no-color', '--tail', '20', 'grafana'] });
    // The healthy parts are not blamed.
    expect(run.stderr).not.toMatch(/✖ jaeger|\[FAIL\] jaeger/);
  });

  it('stops waiting when a container exits, and shows its log (stand-in docker)', async () => {
    await initStack(stackDir);
    const docker = await installStandIn(root.dir, ['docker']);
    const exited = collectorExited();
    const run = await runCli(['up', '--dir', stackDir, '--timeout', '60'], {
      env: docker.env({ STANDIN_PS_AFTER_UP: exited, STANDIN_LOGS: "Error: failed to get config: cannot unmarshal the configuration: 'exporters' unknown type: \"jaeger\"" }),
    });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('collector stopped before turning healthy');
    expect(run.stderr).toContain('its container exited (exit code 1)');
    expect(run.stderr).toContain('otel-collector-1  | Error: failed to get config');
    // Only the stopped part's log: the others were cut short, not broken.
    const logCalls = (await docker.calls()).filter((c) => c.args.includes('logs')).map((c) => c.args.at(-1));
    expect(logCalls).toEqual(['otel-collector']);
  });

  it('with no stack and --yes, checks the engine first: not running, it writes nothing (stand-in docker)', async () => {
    const docker = await installStandIn(root.dir, ['docker']);
    const run = await runCli(['up', '--yes', '--dir', stackDir], { env: docker.env({ STANDIN_DAEMON: 'down' }) });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('The Docker engine is not running');
    expect(run.stderr).toContain('loom-otel up --local');
    expect(run.stderr).not.toContain('Created the stack');
    expect(existsSync(stackDir)).toBe(false);
  });

  it('with no stack and --yes, and an engine that runs, writes one with init and goes on (stand-in docker)', async () => {
    const docker = await installStandIn(root.dir, ['docker']);
    const run = await runCli(['up', '--yes', '--timeout', '1', '--dir', stackDir], { env: docker.env({ STANDIN_PS: allRunning() }) });
    expect(run.stderr).toContain('Created the stack in');
    expect(existsSync(path.join(stackDir, 'loom-otel.json'))).toBe(true);
    expect(existsSync(path.join(stackDir, 'docker-compose.yml'))).toBe(true);
    // It went on to compose up; nothing answers health checks here, so the wait times out.
    expect((await docker.calls()).some((call) => call.args.includes('up'))).toBe(true);
    expect(run.exitCode).toBe(1);
  });

  it('with no stack and no --yes outside a terminal, exits 1 and says to run init (stand-in docker)', async () => {
    const docker = await installStandIn(root.dir, ['docker']);
    const run = await runCli(['up', '--dir', stackDir], { env: docker.env() });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('No loom-otel stack in');
    expect(run.stderr).toContain('loom-otel init');
    expect(existsSync(stackDir)).toBe(false);
    expect(await docker.calls()).toEqual([]);
  });

  it('refuses flags of up --local without --local (exit 2)', async () => {
    const port = await freePort();
    const run = await runCli(['up', '--dir', stackDir, '--jaeger-port', String(port)]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('--jaeger-port applies to `up --local` only');
    expect(run.stderr).toContain('loom-otel init --jaeger-port');
  });

  it('rejects an unknown --engine with exit 2', async () => {
    const run = await runCli(['up', '--dir', stackDir, '--engine', 'lxc']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('--engine must be one of docker, docker-compose, podman');
  });
});

describe('loom-otel up on a terminal with no stack (stand-in docker)', () => {
  it('offers to run init: "n" writes nothing, "y" writes the stack and goes on (stand-in docker)', async () => {
    if (!requireTool('script', 'util-linux: apt install bsdutils')) return;
    const docker = await installStandIn(root.dir, ['docker']);
    // The engine is checked before anything is offered: with it down there is nothing to ask.
    const down = await runCliInTerminal(['up', '--dir', stackDir], docker.env({ STANDIN_DAEMON: 'down' }), 'y\r');
    expect(down.output).toContain('The Docker engine is not running');
    expect(down.output).not.toContain("Create one now with init's defaults");
    expect(down.exitCode).toBe(1);
    expect(existsSync(stackDir)).toBe(false);

    const declined = await runCliInTerminal(['up', '--dir', stackDir], docker.env({ STANDIN_PS: allRunning() }), 'n\r');
    expect(declined.output).toContain("Create one now with init's defaults");
    expect(declined.exitCode).toBe(1);
    expect(declined.output).toContain('No stack to start.');
    expect(existsSync(stackDir)).toBe(false);

    const accepted = await runCliInTerminal(['up', '--timeout', '1', '--dir', stackDir], docker.env({ STANDIN_PS: allRunning() }), 'y\r');
    expect(existsSync(path.join(stackDir, 'loom-otel.json'))).toBe(true);
    expect(accepted.output).toContain('Created the stack in');
    expect(accepted.exitCode).toBe(1); // nothing answers the health checks here
  });
});
