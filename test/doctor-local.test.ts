/**
 * The healthy path: `doctor` against the real `loom-otel up --local` (random ports), over gRPC and
 * OTLP/HTTP, and proof that doctor itself never loads the OTel SDK or @grpc/grpc-js.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli, tempDir } from './helpers/cli.js';
import { startLocal, stopAllLocal } from './local-harness.js';
import type { DoctorReport } from '../src/checks/doctor.js';

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

  it('never loads the OTel SDK or @grpc/grpc-js (a resolve hook records every package doctor imports)', async () => {
    const local = await startLocal();
    const record = path.join(work.dir, 'imports.log');
    const hook = path.join(work.dir, 'record-imports.mjs');
    const hooks = path.join(work.dir, 'record-imports-hooks.mjs');
    await writeFile(hooks, `import { appendFileSync } from 'node:fs';\nexport async function resolve(specifier, context, next) {\n  if (!specifier.startsWith('.') && !specifier.startsWith('node:') && !specifier.startsWith('file:')) appendFileSync(${JSON.stringify(record)}, specifier + '\\n');\n  return next(specifier, context);\n}\n`);
    await writeFile(hook, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hooks}`)});\n`);
    await writeFile(record, '');
    // With a stack, so the stack, collector-lint and engine checks load too.
    const stackDir = path.join(work.dir, 'observability');
    expect((await runCli(['init', '--yes', '--dir', stackDir])).exitCode).toBe(0);
    const run = await runCli(['doctor', '--timeout', '2', '--dir', stackDir, '--endpoint', local.url('otlpGrpc')], {
      env: cleanEnv({ NODE_OPTIONS: `--import=${hook}` }),
    });
    expect(run.stdout).toContain('an empty Export was answered OK');
    const imported = (await readFile(record, 'utf8')).split('\n').filter(Boolean);
    // The hook sees doctor's imports (so this test can fail)...
    expect(imported).toContain('commander');
    expect(imported).toContain('yaml');
    // ...and none of the heavy ones.
    expect(imported.filter((s) => s.startsWith('@opentelemetry/') || s.startsWith('@grpc/') || s === 'protobufjs')).toEqual([]);
  });
});
