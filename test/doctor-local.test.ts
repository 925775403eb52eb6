/**
 * The healthy path: `doctor` against the real `loom-otel up --local` (random ports), over gRPC and
 * OTLP/HTTP, and proof that doctor itself never loads the OTel SDK or @grpc/grpc-js. Then a stack
 * directory served by up --local: doctor and status judge it as up --local serves it (no Prometheus,
 * Grafana or engine), while a health_check without up --local's header still gets the Docker judgement.
 */
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bundledSources } from './helpers/bundle.js';
import { cleanEnv, runCli, tempDir } from './helpers/cli.js';
import { initStack, installStandIn, startStackEndpoints, type StackEndpoints } from './helpers/stand-in-docker.js';
import { startLocal, stopAllLocal } from './local-harness.js';
import type { DoctorReport } from '../src/checks/doctor.js';
import type { HostPorts } from '../src/stack/model.js';

let work: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  work = await tempDir();
});
afterEach(stopAllLocal);
afterAll(() => work.cleanup());


describe('doctor against up --local', () => {
  it('passes every connectivity step over gRPC and OTLP/HTTP, and exits 0', async () => {
    const local = await startLocal();
    const env = cleanEnv({ OTEL_SERVICE_NAME: 'researcher', OTEL_EXPORTER_OTLP_ENDPOINT: local.url('otlpGrpc') });
    const base = ['doctor', '--json', '--timeout', '2', '--dir', work.dir, '--no-in-container'];

    const grpc = await runCli(base, { env });
    const grpcReport = JSON.parse(grpc.stdout) as DoctorReport;
    expect(grpcReport.probe).toMatchObject({ ok: true, grpcStatus: 0 });
    expect(grpcReport.groups.find((g) => g.id === 'connectivity')?.checks.every((c) => c.status === 'pass')).toBe(true);
    expect(grpc.exitCode).toBe(0);

    const otlpHttp = await runCli([...base, '--endpoint', local.url('otlpHttp'), '--protocol', 'http/protobuf'], { env });
    const httpReport = JSON.parse(otlpHttp.stdout) as DoctorReport;
    expect(httpReport.probe).toMatchObject({ ok: true, httpStatus: 200, routeStatus: 405 });
    expect(otlpHttp.exitCode).toBe(0);

    const text = await runCli(base.filter((a) => a !== '--json'), { env });
    expect(text.stdout).toMatch(/\[ok\] {3}Empty gRPC Export: an empty Export was answered OK/);
    expect(text.stdout).toMatch(/^All good|^No failures/m);
  });

  it('never loads the OTel SDK or @grpc/grpc-js (a resolve hook records every module doctor loads)', async () => {
    const local = await startLocal();
    const record = path.join(work.dir, 'imports.log');
    const hook = path.join(work.dir, 'record-imports.mjs');
    const hooks = path.join(work.dir, 'record-imports-hooks.mjs');
    await writeFile(hooks, `import { appendFileSync } from 'node:fs';\nexport async function resolve(specifier, context, next) {\n  const result = await next(specifier, context);\n  appendFileSync(${JSON.stringify(record)}, result.url + '\\n');\n  return result;\n}\n`);
    // dist/cli.cjs is CommonJS: the hook does not see it, require.cache (written at exit) does.
    await writeFile(
      hook,
      `import { register, createRequire } from 'node:module';\nimport { appendFileSync } from 'node:fs';\nregister(${JSON.stringify(`file://${hooks}`)});\nconst require = createRequire(import.meta.url);\nprocess.on('exit', () => appendFileSync(${JSON.stringify(record)}, Object.keys(require.cache).join('\\n') + '\\n'));\n`,
    );
    await writeFile(record, '');
    // With a stack, so the stack, collector-lint and engine checks load too.
    const stackDir = path.join(work.dir, 'observability');
    expect((await runCli(['init', '--yes', '--dir', stackDir])).exitCode).toBe(0);
    const run = await runCli(['doctor', '--timeout', '2', '--dir', stackDir, '--endpoint', local.url('otlpGrpc')], {
      env: cleanEnv({ NODE_OPTIONS: `--import=${hook}` }),
    });
    expect(run.stdout).toContain('an empty Export was answered OK');
    const imported = bundledSources((await readFile(record, 'utf8')).split('\n').filter(Boolean));
    // The hook sees doctor's imports (so this test can fail)...
    expect(imported).toContain('node_modules/commander/lib/command.js');
    expect(imported.some((source) => source.startsWith('node_modules/yaml/'))).toBe(true);
    // ...and none of the heavy ones.
    expect(imported.filter((source) => /node_modules\/(@opentelemetry|@grpc|protobufjs)\//.test(source))).toEqual([]);
  });
});

describe('a stack directory served by up --local (PATH without any container engine)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });

  /** A stack written by the real `init --yes` whose collector and Jaeger ports are `ports`; Prometheus and Grafana get free ones. */
  async function stackOn(ports: Partial<HostPorts>) {
    const temp = await tempDir();
    cleanups.push(temp.cleanup);
    const dir = path.join(temp.dir, 'observability');
    await initStack(dir, ports);
    const noEngine = await installStandIn(temp.dir, []);
    // What `up --local` tells an agent to export, so the app-settings checks agree with the stack.
    return { dir, env: noEngine.env({ OTEL_SERVICE_NAME: 'researcher', OTEL_EXPORTER_OTLP_ENDPOINT: `http://localhost:${ports.otlpGrpc}` }) };
  }

  async function doctor(dir: string, env: Record<string, string | undefined>) {
    const run = await runCli(['doctor', '--json', '--timeout', '2', '--dir', dir, '--no-in-container'], { env });
    const report = JSON.parse(run.stdout) as DoctorReport;
    const check = (id: string) => report.groups.flatMap((g) => g.checks).find((c) => c.id === id);
    const group = (id: string) => report.groups.find((g) => g.id === id)?.checks ?? [];
    return { run, report, check, group };
  }

  it('doctor: Prometheus and Grafana skipped as not part of up --local, the engine group skipped, collector and Jaeger pass: exit 0', async () => {
    const local = await startLocal();
    const stack = await stackOn(local.ports);
    const { run, report, check, group } = await doctor(stack.dir, stack.env);

    expect(check('stack.local')).toMatchObject({ status: 'info' });
    expect(check('stack.local')?.detail).toContain('loom-otel up --local');
    expect(check('running.collector')).toMatchObject({ status: 'pass' });
    expect(check('running.jaeger')).toMatchObject({ status: 'pass' });
    for (const part of ['prometheus', 'grafana']) {
      expect(check(`running.${part}`), part).toEqual({ id: `running.${part}`, title: `${part} healthy`, status: 'skip', detail: 'served by `loom-otel up --local`, which has no Prometheus/Grafana' });
    }
    // One skip for the engine instead of "no Compose found"; Prometheus' and Grafana's ports are still checked for `up`.
    const engine = group('engine');
    expect(engine.map((c) => [c.id, c.status])).toEqual([
      ['engine', 'skip'],
      ['engine.ports', 'pass'],
    ]);
    expect(engine[0]?.detail).toBe('the stack is served by `loom-otel up --local` in-process, so no engine is needed');
    expect(engine[1]?.detail).toMatch(/free for prometheus, grafana \(for `loom-otel up`\)$/);
    expect(report.summary.fail).toBe(0);
    expect(run.exitCode).toBe(0);
  });

  it('doctor: a Grafana port taken by something else is a warning while up --local serves the stack, not a failure', async () => {
    const local = await startLocal();
    const stack = await stackOn(local.ports);
    const manifest = JSON.parse(await readFile(path.join(stack.dir, 'loom-otel.json'), 'utf8')) as { options: { ports: { grafana: number } } };
    const squatter = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => squatter.listen(manifest.options.ports.grafana, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => squatter.close(() => resolve())));

    const { run, check } = await doctor(stack.dir, stack.env);
    const port = check(`engine.ports.${manifest.options.ports.grafana}`);
    expect(port).toMatchObject({ status: 'warn' });
    expect(port?.detail).toContain('`loom-otel up` will fail');
    expect(check('running.grafana')).toMatchObject({ status: 'skip' });
    expect(run.exitCode).toBe(0);
  });

  it('status: says the stack is served by up --local, collector and Jaeger running and healthy, exit 0 without an engine', async () => {
    const local = await startLocal();
    const stack = await stackOn(local.ports);

    const json = await runCli(['status', '--json', '--dir', stack.dir], { env: stack.env });
    expect(json.exitCode, json.stderr).toBe(0);
    const status = JSON.parse(json.stdout) as { ok: boolean; servedBy: string; engine: null; parts: Array<{ part: string; running: boolean; healthy: boolean; state: string }> };
    expect(status).toMatchObject({ ok: true, servedBy: 'up --local', engine: null });
    expect(status.parts.map((p) => [p.part, p.running, p.healthy, p.state])).toEqual([
      ['collector', true, true, 'in-process (up --local)'],
      ['jaeger', true, true, 'in-process (up --local)'],
      ['prometheus', false, false, 'not part of up --local'],
      ['grafana', false, false, 'not part of up --local'],
    ]);

    const text = await runCli(['status', '--dir', stack.dir], { env: stack.env });
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toContain('served by `loom-otel up --local`: in-process, no container engine');
    expect(text.stdout).toMatch(/prometheus\s+no: not part of up --local\s+-/);
    expect(text.stdout).toContain('The 2 parts `loom-otel up --local` serves are running and healthy; prometheus and grafana come with `loom-otel up` (Docker).');
  });

  it('status: up --local started with a port flag that moves Jaeger away from the manifest: exit 1, names the flag override', async () => {
    const local = await startLocal();
    // As if `up --local --jaeger-port <other>` ran: the manifest's Jaeger port (a free one) has nothing behind it.
    const { jaegerUi: _moved, ...served } = local.ports;
    const stack = await stackOn(served);
    const run = await runCli(['status', '--dir', stack.dir], { env: stack.env });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/\[FAIL\] jaeger: GET http:\/\/127\.0\.0\.1:\d+\/api\/services: Nothing is listening/);
    expect(run.stdout).toContain('`loom-otel up --local` runs but jaeger did not answer here: port flags given to it override the ports in');
  });

  it('a health_check answer without up --local\'s header keeps the Docker judgement: Prometheus/Grafana fail, the engine is checked, status needs Compose', async () => {
    const endpoints: StackEndpoints = await startStackEndpoints();
    cleanups.push(endpoints.close);
    const stack = await stackOn({ otlpGrpc: endpoints.ports.otlpGrpc, collectorHealth: endpoints.ports.collectorHealth, jaegerUi: endpoints.ports.jaegerUi });
    const { run, check } = await doctor(stack.dir, stack.env);
    expect(check('stack.local')).toBeUndefined();
    expect(check('running.collector')).toMatchObject({ status: 'pass' });
    expect(check('running.prometheus')).toMatchObject({ status: 'fail' });
    expect(check('running.prometheus')?.detail).toContain('connection refused');
    expect(check('running.grafana')).toMatchObject({ status: 'fail' });
    expect(check('engine')).toBeUndefined();
    expect(check('engine.compose')).toMatchObject({ status: 'fail' });
    expect(run.exitCode).toBe(1);

    const status = await runCli(['status', '--dir', stack.dir], { env: stack.env });
    expect(status.exitCode).toBe(1);
    expect(status.stderr).toContain('No container engine found');
  });
});

