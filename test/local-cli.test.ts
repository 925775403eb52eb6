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
import { freePort } from './helpers/ports.js';
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

/** `up --local` as in a terminal (human output, random ports); `seen` waits for a pattern on stdout. */
function startInTerminal() {
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
  return { child, output: () => stdout, seen };
}

describe('up --local in a terminal', () => {
  it('prints where it listens and the export lines, draws each finished trace, and stops on Ctrl-C with a summary', async () => {
    const { child, output, seen } = startInTerminal();
    await seen(/Ctrl-C stops\./);
    const [, grpcPort] = await seen(/export OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/127\.0\.0\.1:(\d+)/);
    expect(output()).toMatch(/OTLP gRPC\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(output()).toMatch(/Trace viewer\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(output()).toContain('export OTEL_EXPORTER_OTLP_PROTOCOL=grpc');

    const traceId = await sendAgentTrace(`http://127.0.0.1:${grpcPort}`);
    // The trace is drawn once its root arrived and nothing more came for a moment.
    await seen(/tool\.invoke.*✖ error/);
    expect(output()).toMatch(new RegExp(`cognitive\\.run cli-agent  2 spans, .*1 error  http://127\\.0\\.0\\.1:\\d+/trace/${traceId}`));
    expect(output()).toMatch(/cli-agent {2}cognitive\.run +█+/);
    expect(output()).toMatch(/cli-agent {2}└─ tool\.invoke +█+ +\S+ ✖ error/);
    expect(output().match(/└─ tool\.invoke/g)).toHaveLength(1); // drawn once

    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(0);
    expect(output()).toMatch(/Stopped after .*: 2 spans received \(0 refused\), 1 trace kept \(0 evicted\), 0 metric points, 0 log records, 0 requests refused\./);
  });

  it('traces faster than a person can read: one summary line per second instead of every tree', async () => {
    const { child, output, seen } = startInTerminal();
    await seen(/Ctrl-C stops\./);
    const stdout = output();
    const grpc = /export OTEL_EXPORTER_OTLP_ENDPOINT=(\S+)/.exec(stdout)![1]!;
    const viewer = /Trace viewer\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)![1]!;
    const load = await runCli(['send-test-trace', '--endpoint', grpc, '--count', '200', '--error']);
    expect(load.exitCode, load.stderr).toBe(0);
    // Settled: the live view has seen every trace (drawn or counted).
    const counted = () => {
      const trees = output().match(/^cognitive\.run .* 15 spans, /gm)?.length ?? 0;
      const summaries = [...output().matchAll(/^\S+ {2}(\d+) traces?, (\d+) spans?, (\d+) errors? in (\d+) traces? \(too many to draw; (\S+)\)$/gm)];
      return { trees, summaries };
    };
    for (let i = 0; i < 100 && counted().trees + counted().summaries.reduce((n, m) => n + Number(m[1]), 0) < 200; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    const { trees, summaries } = counted();
    expect(summaries.length).toBeGreaterThan(0);
    expect(trees + summaries.reduce((n, m) => n + Number(m[1]), 0)).toBe(200);
    expect(trees).toBeLessThanOrEqual(3 * (summaries.length + 1));
    for (const [, traces, spans, errors, errorTraces, link] of summaries) {
      expect(Number(spans)).toBe(15 * Number(traces));
      expect(Number(errors)).toBe(3 * Number(traces)); // --error: call, tool.invoke and cognitive.tool_call fail
      expect(Number(errorTraces)).toBe(Number(traces));
      expect(link).toBe(`${viewer}/search?tags=${encodeURIComponent('{"error":"true"}')}`);
    }
    child.kill('SIGINT');
    expect((await child).exitCode).toBe(0);
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
