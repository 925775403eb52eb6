/**
 * `doctor --dir` on a stack written by the real `init`: its files, the collector config linted in place,
 * ports agreeing, running parts healthy (loopback servers stand in for them) and the engine (a stand-in
 * `docker` on PATH: no container engine runs here).
 */
import net from 'node:net';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';
import { allRunning, initStack, installStandIn, startStackEndpoints, type StackEndpoints } from './helpers/stand-in-docker.js';
import { fakeGrafana, fakePrometheus, stopAll, type FakeTarget } from './doctor-servers.js';
import type { DoctorReport } from '../src/checks/doctor.js';


const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await stopAll();
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function workspace() {
  const temp = await tempDir();
  cleanups.push(temp.cleanup);
  const engine = await installStandIn(temp.dir, ['docker'], { ss: true });
  return { root: temp.dir, dir: path.join(temp.dir, 'observability'), engine };
}

async function doctor(dir: string, env: Record<string, string | undefined>, args: string[] = []) {
  const run = await runCli(['doctor', '--json', '--timeout', '2', '--dir', dir, '--no-in-container', ...args], { env });
  const report = JSON.parse(run.stdout) as DoctorReport;
  const group = (id: string) => report.groups.find((g) => g.id === id)?.checks ?? [];
  const all = report.groups.flatMap((g) => g.checks);
  return { run, report, group, check: (id: string) => all.find((c) => c.id === id) };
}

/** A stack whose parts "run": loopback servers on the ports init writes into the stack. */
async function runningStack(options: { targets: FakeTarget[]; datasourceStatus: 'OK' | 'ERROR'; grafanaPassword?: string }) {
  const ws = await workspace();
  const endpoints: StackEndpoints = await startStackEndpoints();
  cleanups.push(endpoints.close);
  const prometheus = await fakePrometheus(options.targets);
  let password: string | undefined;
  const grafana = await fakeGrafana({ password: () => password, datasourceStatus: options.datasourceStatus });
  const ports = await initStack(ws.dir, {
    otlpGrpc: endpoints.ports.otlpGrpc,
    collectorHealth: endpoints.ports.collectorHealth,
    jaegerUi: endpoints.ports.jaegerUi,
    prometheus,
    grafana,
  });
  const envText = await readFile(path.join(ws.dir, '.env'), 'utf8');
  password = options.grafanaPassword ?? /GF_SECURITY_ADMIN_PASSWORD=(.*)/.exec(envText)?.[1];
  const env = ws.engine.env({ STANDIN_PS: allRunning(), OTEL_EXPORTER_OTLP_ENDPOINT: `http://localhost:${ports.otlpGrpc}`, OTEL_SERVICE_NAME: 'researcher' });
  return { ...ws, ports, env };
}

const ALL_UP: FakeTarget[] = [
  { job: 'otel-collector-exporter', health: 'up' },
  { job: 'otel-collector', health: 'up' },
  { job: 'jaeger', health: 'up' },
];

describe('doctor --dir: a running stack (loopback stand-ins for its parts, stand-in docker)', () => {
  it('every part healthy, Prometheus targets up, Grafana datasources working: exit 0', async () => {
    const stack = await runningStack({ targets: ALL_UP, datasourceStatus: 'OK' });
    const { run, report, group, check } = await doctor(stack.dir, stack.env);
    expect(group('stack').filter((c) => c.status === 'fail' || c.status === 'warn')).toEqual([]);
    for (const part of ['collector', 'jaeger', 'prometheus', 'grafana']) expect(check(`running.${part}`)?.status, part).toBe('pass');
    expect(check('running.prometheus-targets')).toMatchObject({ status: 'pass' });
    expect(check('running.grafana-datasources.loom-prometheus')).toMatchObject({ status: 'pass' });
    expect(check('running.grafana-datasources.loom-jaeger')).toMatchObject({ status: 'pass' });
    expect(check('engine.compose')).toMatchObject({ status: 'pass' });
    expect(check('engine.running')).toMatchObject({ status: 'pass' });
    expect(check('engine.ports')).toMatchObject({ status: 'skip' });
    expect(report.ok).toBe(true);
    expect(run.exitCode).toBe(0);
    // The Grafana password is used, never shown.
    const password = /GF_SECURITY_ADMIN_PASSWORD=(.*)/.exec(await readFile(path.join(stack.dir, '.env'), 'utf8'))?.[1] ?? '';
    expect(password.length).toBeGreaterThan(8);
    expect(run.stdout).not.toContain(password);
  });

  it('a scrape target down and a datasource failing are named, with their errors', async () => {
    const stack = await runningStack({
      targets: [...ALL_UP.slice(1), { job: 'otel-collector-exporter', health: 'down', lastError: 'connect: connection refused' }],
      datasourceStatus: 'ERROR',
    });
    const { run, check } = await doctor(stack.dir, stack.env);
    expect(run.exitCode).toBe(1);
    expect(check('running.prometheus-targets')).toMatchObject({ status: 'fail' });
    expect(check('running.prometheus-targets')?.detail).toContain('otel-collector-exporter');
    expect(check('running.prometheus-targets')?.detail).toContain('connection refused');
    expect(check('running.grafana-datasources.loom-prometheus')?.detail).toContain('no such host');
  });

  it('a Grafana login that is not accepted skips the datasource check and says why', async () => {
    const stack = await runningStack({ targets: ALL_UP, datasourceStatus: 'OK', grafanaPassword: 'changed-in-the-ui' });
    const { check } = await doctor(stack.dir, stack.env);
    expect(check('running.grafana-datasources')).toMatchObject({ status: 'skip' });
    expect(check('running.grafana-datasources')?.detail).toContain('did not accept');
  });

  it('an agent without OTEL_EXPORTER_OTLP_ENDPOINT would miss a stack on other ports', async () => {
    const stack = await runningStack({ targets: ALL_UP, datasourceStatus: 'OK' });
    const { run, check } = await doctor(stack.dir, { ...stack.env, OTEL_EXPORTER_OTLP_ENDPOINT: undefined });
    expect(run.exitCode).toBe(1);
    expect(check('settings.stack-port')).toMatchObject({ status: 'fail' });
    expect(check('settings.stack-port')?.fix).toContain(`http://localhost:${stack.ports.otlpGrpc}`);
  });
});

describe('doctor --dir: a stack that is down (stand-in docker)', () => {
  it('the generated files lint clean; parts are skipped as not running; host ports are free', async () => {
    const ws = await workspace();
    await initStack(ws.dir);
    const { group, check } = await doctor(ws.dir, ws.engine.env());
    expect(group('stack').filter((c) => c.status === 'fail' || c.status === 'warn')).toEqual([]);
    expect(check('stack.files')).toMatchObject({ status: 'pass' });
    expect(check('stack.services')).toMatchObject({ status: 'pass', detail: 'docker-compose.yml defines otel-collector, jaeger, prometheus, grafana' });
    expect(check('collector.components')?.detail).toContain('otelcol-contrib 0.158.0');
    expect(check('stack.ports')).toMatchObject({ status: 'pass' });
    expect(check('stack.scrape')).toMatchObject({ status: 'pass' });
    expect(check('running')).toMatchObject({ status: 'skip' });
    expect(check('running')?.detail).toContain('loom-otel up');
    expect(check('engine.ports')).toMatchObject({ status: 'pass' });
  });

  it('a host port held by another process fails with the process that holds it', async () => {
    const ws = await workspace();
    // Reads and drops what arrives, so it sees each client leave and can close.
    const holder = net.createServer((socket) => socket.resume());
    const port = await new Promise<number>((resolve) => holder.listen(0, '127.0.0.1', () => resolve((holder.address() as net.AddressInfo).port)));
    cleanups.push(() => new Promise((resolve) => holder.close(() => resolve())));
    await initStack(ws.dir, { grafana: port });
    const { run, check } = await doctor(ws.dir, ws.engine.env());
    expect(run.exitCode).toBe(1);
    const taken = check(`engine.ports.${port}`);
    expect(taken).toMatchObject({ status: 'fail' });
    expect(taken?.detail).toContain('grafana');
    expect(taken?.detail).toContain(`pid ${process.pid}`);
    expect(taken?.fix).toContain('--grafana-port');
  });

  it('an engine whose daemon is down, or without Compose, fails with the fix', async () => {
    const ws = await workspace();
    await initStack(ws.dir);
    const down = await doctor(ws.dir, ws.engine.env({ STANDIN_DAEMON: 'down' }));
    expect(down.check('engine.running')).toMatchObject({ status: 'fail' });
    expect(down.check('engine.running')?.fix).toContain('systemctl start docker');
    const noCompose = await doctor(ws.dir, ws.engine.env({ STANDIN_COMPOSE: 'absent' }));
    expect(noCompose.check('engine.compose')).toMatchObject({ status: 'fail' });
    expect(noCompose.check('engine.compose')?.fix).toContain('Compose');
  });

  it('a stand-in `docker info` that never answers is reported as stuck, and not asked again who holds a port', async () => {
    const temp = await tempDir();
    cleanups.push(temp.cleanup);
    // Without ss, only the engine could name a port's holder.
    const engine = await installStandIn(temp.dir, ['docker']);
    const dir = path.join(temp.dir, 'observability');
    const holder = net.createServer((socket) => socket.resume());
    const port = await new Promise<number>((resolve) => holder.listen(0, '127.0.0.1', () => resolve((holder.address() as net.AddressInfo).port)));
    cleanups.push(() => new Promise((resolve) => holder.close(() => resolve())));
    await initStack(dir, { grafana: port });
    const { run, check } = await doctor(dir, engine.env({ STANDIN_HANG: 'info' }), ['--timeout', '1']);
    expect(run.exitCode).toBe(1);
    expect(check('engine.running')).toMatchObject({ status: 'fail' });
    expect(check('engine.running')?.detail).toContain('`docker info` did not answer within 1000 ms');
    expect(check(`engine.ports.${port}`)).toMatchObject({ status: 'fail' });
    expect((await engine.calls()).filter((call) => call.args[0] === 'ps')).toEqual([]);
  });

  it('a stand-in `docker compose version` that never answers is named as stuck, not as a missing plugin', async () => {
    const temp = await tempDir();
    cleanups.push(temp.cleanup);
    const engine = await installStandIn(temp.dir, ['docker', 'docker-compose']);
    const dir = path.join(temp.dir, 'observability');
    await initStack(dir);
    const { run, check } = await doctor(dir, engine.env({ STANDIN_HANG: 'compose-version' }), ['--timeout', '1']);
    expect(run.exitCode).toBe(1);
    const compose = check('engine.compose');
    expect(compose).toMatchObject({ status: 'fail' });
    expect(compose?.detail).toContain('`docker compose version` did not answer within');
    expect(compose?.detail).not.toContain('without the Compose plugin');
    expect(compose?.fix).toContain('Restart the engine');
    // The timeout was spent on docker: no other engine is started after doctor has reported.
    expect((await engine.calls()).map((call) => call.name)).not.toContain('docker-compose');
  });
});

describe('doctor --dir: a stack edited into faults', () => {
  it('a compose file without the stack\'s services fails, also one that was there before init', async () => {
    const ws = await workspace();
    await initStack(ws.dir);
    await writeFile(path.join(ws.dir, 'docker-compose.yml'), 'services:\n  jaeger:\n    image: jaegertracing/jaeger:2.15.0\n');
    const edited = await doctor(ws.dir, ws.engine.env());
    expect(edited.run.exitCode).toBe(1);
    expect(edited.check('stack.services')).toMatchObject({ status: 'fail' });
    expect(edited.check('stack.services')?.detail).toBe('docker-compose.yml has no otel-collector, prometheus, grafana services: `loom-otel up` would not start them');
    expect(edited.check('stack.services')?.fix).toContain('--force');

    const before = await workspace();
    await mkdir(before.dir, { recursive: true });
    await writeFile(path.join(before.dir, 'docker-compose.yml'), 'services: {}\n');
    await initStack(before.dir).catch(() => undefined); // init leaves the file alone and exits 1
    const foreign = await doctor(before.dir, before.engine.env());
    expect(foreign.check('stack.services')).toMatchObject({ status: 'fail' });
    expect(foreign.check('stack.services')?.detail).toContain('has no otel-collector, jaeger, prometheus, grafana services');
  });

  it('OTLP/HTTP removed from the collector while compose still publishes 4318; ports that disagree with the manifest', async () => {
    const ws = await workspace();
    const ports = await initStack(ws.dir);
    const collectorFile = path.join(ws.dir, 'otel-collector.yaml');
    await writeFile(collectorFile, (await readFile(collectorFile, 'utf8')).replace(/\n {6}http:\n {8}endpoint: 0\.0\.0\.0:4318/, ''));
    const composeFile = path.join(ws.dir, 'docker-compose.yml');
    await writeFile(composeFile, (await readFile(composeFile, 'utf8')).replace(`127.0.0.1:${ports.collectorHealth}:13133`, `127.0.0.1:${ports.collectorHealth + 1}:13133`));
    const { run, check } = await doctor(ws.dir, ws.engine.env());
    expect(run.exitCode).toBe(1);
    expect(check('stack.ports.unbound.4318')).toMatchObject({ status: 'fail' });
    expect(check('stack.ports.unbound.4318')?.fix).toContain('0.0.0.0:4318');
    expect(check('stack.ports.collectorHealth')?.detail).toContain(`${ports.collectorHealth + 1}`);
    expect(check('stack.ports.collectorHealth')?.fix).toContain('--health-port');
    expect(check('stack.edited')?.detail).toContain('otel-collector.yaml');
  });

  it('Prometheus scraping the wrong collector port, a missing file and a broken one', async () => {
    const ws = await workspace();
    await initStack(ws.dir);
    const promFile = path.join(ws.dir, 'prometheus.yml');
    await writeFile(promFile, (await readFile(promFile, 'utf8')).replace('otel-collector:8889', 'otel-collector:9999'));
    await writeFile(path.join(ws.dir, 'jaeger.yaml'), 'extensions: [unclosed\n');
    await rm(path.join(ws.dir, 'grafana/dashboards/loom-agents.json'));
    const { check } = await doctor(ws.dir, ws.engine.env());
    expect(check('stack.scrape')).toMatchObject({ status: 'fail' });
    expect(check('stack.scrape')?.detail).toContain('otel-collector:9999');
    expect(check('stack.parse.jaeger.yaml')?.detail).toContain('not valid YAML');
    expect(check('stack.files')).toMatchObject({ status: 'fail' });
    expect(check('stack.files')?.detail).toContain('grafana/dashboards/loom-agents.json');
  });

  it('a manifest that is not JSON is a failed check with the fix, not a crash', async () => {
    const ws = await workspace();
    await initStack(ws.dir);
    await writeFile(path.join(ws.dir, 'loom-otel.json'), '{ not json');
    const { run, check } = await doctor(ws.dir, ws.engine.env());
    expect(run.exitCode).toBe(1);
    expect(check('stack.manifest')).toMatchObject({ status: 'fail' });
    expect(check('stack.manifest')?.fix).toContain('loom-otel init');
  });

  it('an invalid manifest is reported once, naming the field and the fix; the engine section does not call it missing', async () => {
    const ws = await workspace();
    await initStack(ws.dir);
    const manifestPath = path.join(ws.dir, 'loom-otel.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    manifest.options.ports.otlpGrpc = 'abc';
    await writeFile(manifestPath, JSON.stringify(manifest));
    const run = await runCli(['doctor', '--timeout', '2', '--dir', ws.dir, '--no-in-container', '--no-color'], { env: ws.engine.env() });
    expect(run.exitCode).toBe(1);
    const [stack, engine] = ['Stack\n', 'Container engine\n'].map((title) => run.stdout.slice(run.stdout.indexOf(title)).split('\n\n')[0]!);
    expect(stack).toContain(`[FAIL] Stack manifest: ${manifestPath} is not a valid stack manifest:\n           options.ports.otlpGrpc: expected a whole number from 1 to 65535, got the string "abc"`);
    expect(stack).toContain(`Fix: Correct it, or run \`loom-otel init --dir ${ws.dir} --force\``);
    expect(engine).toBe(`Container engine\n  [skip] Container engine: not checked: the stack manifest in ${ws.dir} cannot be used (see "Stack manifest" above)`);
    expect(run.stdout).not.toContain('no stack manifest');
  });
});
