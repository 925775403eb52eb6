/**
 * `loom-otel up --local` as a user runs it: what it prints (listening URLs, export lines, each finished
 * trace as a tree, a summary on Ctrl-C), where its ports come from (flags, the stack manifest), and how
 * it fails (a port in use, the same port twice, bad values).
 */
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { BIN, cleanEnv, runCli, tempDir } from './helpers/cli.js';
import { RANDOM_PORT_FLAGS, startLocal, stopAllLocal } from './local-harness.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await stopAllLocal();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function occupyPort(): Promise<{ port: number; close: () => Promise<void> }> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({ port, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}

async function freePort(): Promise<number> {
  const { port, close } = await occupyPort();
  await close();
  return port;
}

async function sendAgentTrace(grpcUrl: string): Promise<string> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'cli-agent' }), spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('cli-test');
  const root = tracer.startSpan('cognitive.run');
  const child = tracer.startSpan('tool.invoke', {}, trace.setSpan(ROOT_CONTEXT, root));
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'no such tool' });
  child.end();
  root.end();
  const exporter = new OTLPTraceExporter({ url: grpcUrl });
  const result = await new Promise<ExportResult>((resolve) => exporter.export(memory.getFinishedSpans(), resolve));
  await exporter.shutdown();
  await provider.shutdown();
  expect(result.code).toBe(ExportResultCode.SUCCESS);
  return root.spanContext().traceId;
}

describe('up --local in a terminal', () => {
  it('prints where it listens and the export lines, draws each finished trace, and stops on Ctrl-C with a summary', async () => {
    const child = execa('node', [BIN, 'up', '--local', ...RANDOM_PORT_FLAGS], { env: cleanEnv(), extendEnv: false, reject: false });
    cleanups.push(async () => {
      child.kill('SIGKILL');
      await child;
    });
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const seen = (pattern: RegExp) =>
      new Promise<RegExpMatchArray>((resolve, reject) => {
        const check = () => {
          const match = stdout.match(pattern);
          if (!match) return;
          child.stdout!.off('data', check);
          resolve(match);
        };
        child.stdout!.on('data', check);
        check();
        void child.then(() => reject(new Error(`exited early:\n${stdout}`)));
      });
    await seen(/Ctrl-C stops\./);
    const [, grpcPort] = await seen(/export OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/127\.0\.0\.1:(\d+)/);
    expect(stdout).toMatch(/OTLP gRPC\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(stdout).toMatch(/Trace viewer\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(stdout).toContain('export OTEL_EXPORTER_OTLP_PROTOCOL=grpc');

    const traceId = await sendAgentTrace(`http://127.0.0.1:${grpcPort}`);
    // The trace is drawn once its root arrived and nothing more came for a moment.
    await seen(/tool\.invoke.*✖ error/);
    expect(stdout).toMatch(new RegExp(`cognitive\\.run cli-agent  2 spans, .*1 error  http://127\\.0\\.0\\.1:\\d+/trace/${traceId}`));
    expect(stdout).toMatch(/cli-agent {2}cognitive\.run +█+/);
    expect(stdout).toMatch(/cli-agent {2}└─ tool\.invoke +█+ +\S+ ✖ error/);
    expect(stdout.match(/└─ tool\.invoke/g)).toHaveLength(1); // drawn once

    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(0);
    expect(stdout).toMatch(/Stopped after .*: 2 spans received \(0 refused\), 1 trace kept \(0 evicted\), 0 metric points, 0 log records, 0 requests refused\./);
  });

  it('--quiet prints no spans; --json prints one line per span', async () => {
    const quiet = await startLocal(['--quiet']);
    await sendAgentTrace(quiet.url('otlpGrpc'));
    const quietRun = await quiet.stop();
    expect(quietRun.events.map((e) => e.event)).toEqual(['listening', 'stopped']);

    const loud = await startLocal();
    const traceId = await sendAgentTrace(loud.url('otlpGrpc'));
    const loudRun = await loud.stop('SIGINT');
    expect(loudRun.exitCode).toBe(0);
    const spans = loudRun.events.filter((e) => e.event === 'span');
    expect(spans).toHaveLength(2);
    expect(spans.find((s) => s.name === 'tool.invoke')).toMatchObject({ traceId, service: 'cli-agent', status: 'ERROR', statusMessage: 'no such tool' });
  });
});

describe('where up --local listens', () => {
  it('uses the ports of the stack manifest, and a flag overrides one', async () => {
    const { dir, cleanup } = await tempDir('loom-otel-local-manifest-');
    cleanups.push(cleanup);
    expect((await runCli(['init', '--yes', '--dir', dir])).exitCode).toBe(0);
    const manifestPath = path.join(dir, 'loom-otel.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    const ports = { otlpGrpc: await freePort(), otlpHttp: await freePort(), collectorHealth: await freePort(), collectorMetrics: await freePort() };
    manifest.options.ports = { ...manifest.options.ports, ...ports };
    await writeFile(manifestPath, JSON.stringify(manifest, null, 2));

    const child = execa('node', [BIN, 'up', '--local', '--json', '--dir', dir, '--jaeger-port', '0'], { env: cleanEnv(), extendEnv: false, reject: false });
    cleanups.push(async () => {
      child.kill('SIGKILL');
      await child;
    });
    const first = await new Promise<string>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().split('\n')[0]!)));
    const listening = JSON.parse(first);
    expect(listening.ports).toMatchObject(ports);
    expect(listening.ports.jaegerUi).not.toBe(manifest.options.ports.jaegerUi);
    expect(listening.manifest).toBe(manifestPath);
    const health = await fetch(`http://127.0.0.1:${ports.collectorHealth}/`);
    expect(health.status).toBe(200);
    child.kill('SIGTERM');
    expect((await child).exitCode).toBe(0);
  });

  it('a port in use: exit 1, naming the port, what it is for and the flag that moves it', async () => {
    const taken = await occupyPort();
    cleanups.push(taken.close);
    const flags = RANDOM_PORT_FLAGS.map((value, i) => (RANDOM_PORT_FLAGS[i - 1] === '--otlp-http-port' ? String(taken.port) : value));
    const run = await runCli(['up', '--local', ...flags]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(`port ${taken.port} (OTLP/HTTP) is already in use`);
    expect(run.stderr).toContain('--otlp-http-port <port>');

    const json = await runCli(['--json', 'up', '--local', ...flags]);
    expect(json.exitCode).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { exitCode: 1, message: expect.stringContaining(`port ${taken.port}`) } });
  });

  it('bad values: exit 2 before anything listens', async () => {
    const same = await runCli(['up', '--local', ...RANDOM_PORT_FLAGS, '--otlp-grpc-port', '45317', '--otlp-http-port', '45317']);
    expect(same.exitCode).toBe(2);
    expect(same.stderr).toContain('would both use port 45317');
    const traces = await runCli(['up', '--local', ...RANDOM_PORT_FLAGS, '--max-traces', 'lots']);
    expect(traces.exitCode).toBe(2);
    expect(traces.stderr).toContain('--max-traces must be a whole number');
    const port = await runCli(['up', '--local', ...RANDOM_PORT_FLAGS, '--metrics-port', '70000']);
    expect(port.exitCode).toBe(2);
    expect(port.stderr).toContain('--metrics-port must be a whole number from 0 to 65535');
  });

  const external = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  it.runIf(external)('binds 127.0.0.1 unless --expose', async () => {
    const health = (port: number) =>
      fetch(`http://${external}:${port}/`).then(
        (r) => r.status,
        () => 'refused',
      );
    const loopback = await startLocal();
    expect(await health(loopback.ports.collectorHealth)).toBe('refused');
    await loopback.stop();
    const exposed = await startLocal(['--expose']);
    expect(await health(exposed.ports.collectorHealth)).toBe(200);
    await exposed.stop();
  });
});
