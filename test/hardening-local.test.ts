/**
 * Hostile input against the built CLI's `up --local` (issue 9): every class of attack on the embedded
 * stack, each with inputs of our own, sent through the official OTel JS exporters or raw sockets.
 * Memory is judged by what the store reports and what it still answers, never by timing.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT_CONTEXT, type Attributes } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import path from 'node:path';
import { BIN, cleanEnv, tempDir } from './helpers/cli.js';
import { requireTool } from './helpers/validators.js';
import { getJson, RANDOM_PORT_FLAGS, startLocal, stopAllLocal, type LocalRun } from './local-harness.js';

afterEach(stopAllLocal);

const PROMPT = 'You are a careful agent. Think step by step. '.repeat(800).slice(0, 32 * 1024);

/** `llm.generate` spans recorded by the real SDK (no attribute length limit): one root per trace, one per attribute set. */
async function llmSpans(service: string, attributeSets: Attributes[]): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
    spanLimits: { attributeValueLengthLimit: Infinity },
  });
  const tracer = provider.getTracer('hardening');
  for (const attributes of attributeSets) tracer.startSpan('llm.generate', { attributes }, ROOT_CONTEXT).end();
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

/** Spans each with a 32 KiB prompt attribute. */
const promptSpans = (count: number) => llmSpans('prompt-agent', Array.from({ length: count }, (_, i) => ({ 'llm.prompt': `${i} ${PROMPT}` })));

function exportSpans(exporter: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

const now = () => String(BigInt(Date.now()) * 1_000_000n);
const hexId = (bytes: number) => randomBytes(bytes).toString('hex');

/** An OTLP/JSON span (hex ids); `extra` overrides any field. */
function jsonSpan(name: string, extra: Record<string, unknown> = {}) {
  return { traceId: hexId(16), spanId: hexId(8), name, startTimeUnixNano: now(), endTimeUnixNano: now(), ...extra };
}

function jsonRequest(spans: unknown[], resourceAttributes: Array<{ key: string; value: unknown }> = [{ key: 'service.name', value: { stringValue: 'hostile' } }]) {
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: resourceAttributes }, scopeSpans: [{ spans }] }] });
}

async function postJson(local: LocalRun, body: string): Promise<{ status: number; body: any }> {
  const response = await fetch(local.url('otlpHttp', '/v1/traces'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
  return { status: response.status, body: await response.json() };
}

/** `promtool check metrics` on an exposition: its parse error, or undefined when it parses (naming lints aside). */
async function expositionParseError(text: string): Promise<string | undefined> {
  const run = await execa('promtool', ['check', 'metrics'], { input: text, reject: false });
  const output = `${run.stdout}${run.stderr}`;
  return output.includes('parsing error') ? output : undefined;
}

/** GET with a chosen Host header (fetch does not let one set it). */
function getWithHost(port: number, path: string, host: string): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path, headers: { Host: host } }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers }));
    });
    request.on('error', reject);
  });
}

/** Opens `count` raw TCP connections that never send a byte; resolves once each is connected (or already reset). */
async function idleSockets(port: number, count: number): Promise<Array<{ socket: net.Socket; closed: boolean }>> {
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<{ socket: net.Socket; closed: boolean }>((resolve) => {
          const entry = { socket: net.connect(port, '127.0.0.1'), closed: false };
          entry.socket.on('close', () => {
            entry.closed = true;
            resolve(entry);
          });
          entry.socket.on('error', () => {});
          entry.socket.once('connect', () => resolve(entry));
        }),
    ),
  );
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('up --local keeps its memory within --max-memory-mib', () => {
  it('evicts the oldest traces when 32 KiB prompts overflow the budget, and keeps answering', async () => {
    const local = await startLocal(['--quiet', '--max-memory-mib', '16']);
    const exporter = new GrpcExporter({ url: local.url('otlpGrpc') });
    const spans = await promptSpans(1000); // ~33 MB of prompts into a 16 MiB budget
    for (let i = 0; i < spans.length; i += 100) {
      expect((await exportSpans(exporter, spans.slice(i, i + 100))).code).toBe(ExportResultCode.SUCCESS);
    }
    await exporter.shutdown();
    const first = spans[0]!.spanContext().traceId;
    const last = spans.at(-1)!.spanContext().traceId;
    expect((await getJson(local.url('jaegerUi', `/api/traces/${first}`))).status).toBe(404);
    const kept = await getJson(local.url('jaegerUi', `/api/traces/${last}`));
    expect(kept.status).toBe(200);
    expect(kept.body.data[0].spans[0].tags).toContainEqual({ key: 'llm.prompt', type: 'string', value: `999 ${PROMPT}` });

    const stopped = await local.stop();
    const summary = stopped.events.at(-1)!;
    expect(summary).toMatchObject({ event: 'stopped', spansReceived: 1000, spansRefused: 0 });
    expect(summary.tracesEvicted).toBeGreaterThan(400);
    expect(summary.memoryUsedMiB).toBeLessThanOrEqual(16);
  });

  it('answers partial success naming the flag when one span cannot fit even with everything else evicted', async () => {
    const local = await startLocal(['--quiet', '--max-memory-mib', '16', '--max-attribute-length', '33554432', '--max-request-mib', '64']);
    const huge = 'p'.repeat(17 * 1024 * 1024);
    const answer = await postJson(local, jsonRequest([jsonSpan('small.one'), jsonSpan('too.big', { attributes: [{ key: 'llm.prompt', value: { stringValue: huge } }] })]));
    expect(answer.status).toBe(200);
    expect(answer.body.partialSuccess).toEqual({
      rejectedSpans: '1',
      errorMessage: expect.stringMatching(/1 span\(s\) do not fit the 16 MiB memory budget .*--max-memory-mib/),
    });
    const { body } = await getJson(local.url('jaegerUi', '/api/traces?service=hostile'));
    expect(body.data.map((t: any) => t.spans[0].operationName)).toEqual(['small.one']);
    const stopped = await local.stop();
    expect(stopped.events.find((e) => e.event === 'stopped')).toMatchObject({ spansRefused: 1 });
  });

  it('evicts span-metric series, least recently updated first, when distinct span names fill the budget', async () => {
    const local = await startLocal(['--quiet', '--max-memory-mib', '16']);
    for (let batch = 0; batch < 10; batch++) {
      const spans = Array.from({ length: 2000 }, (_, i) => jsonSpan(`${batch}-${i}-${'n'.repeat(900)}`));
      expect((await postJson(local, jsonRequest(spans))).status).toBe(200);
    }
    const metrics = await fetch(local.url('collectorMetrics', '/metrics'));
    expect(metrics.status).toBe(200);
    const exposition = await metrics.text();
    const series = exposition.match(/^traces_span_metrics_calls_total\{/gm)?.length ?? 0;
    expect(series).toBeGreaterThan(100);
    expect(series).toBeLessThan(10_000); // the budget, not the 10,000-series cap, bounded them
    expect(exposition).toContain('span_name="9-1999-'); // the newest is there
    expect(exposition).not.toContain('span_name="0-0-'); // the oldest went first
    const stopped = await local.stop();
    const summary = stopped.events.at(-1)!;
    expect(summary.seriesEvicted).toBeGreaterThan(10_000);
    expect(summary.memoryUsedMiB).toBeLessThanOrEqual(16);
  });

  it('evicts llm_tokens_total series, least recently updated first, within the same budget, and keeps the survivors exact', async () => {
    const local = await startLocal(['--quiet', '--max-memory-mib', '16', '--max-name-length', '2048']);
    // 4000 LLM spans, each with its own 3000-character model (so 8000 token label sets, below the
    // 10,000-set cap: only the budget can evict), and every 50th span one steady series that stays in use.
    const model = (i: number) => `m${i}-${'x'.repeat(3000)}`;
    const attributeSets: Attributes[] = [];
    let steadySpans = 0;
    for (let i = 0; i < 4000; i++) {
      attributeSets.push({ 'gen_ai.request.model': model(i), 'gen_ai.usage.input_tokens': i + 1, 'gen_ai.usage.output_tokens': 2 * (i + 1) });
      if (i % 50 === 0) {
        attributeSets.push({ 'gen_ai.request.model': 'steady-model', 'gen_ai.usage.input_tokens': 7, 'gen_ai.usage.output_tokens': 3 });
        steadySpans++;
      }
    }
    const spans = await llmSpans('token-agent', attributeSets);
    const exporter = new GrpcExporter({ url: local.url('otlpGrpc') });
    for (let i = 0; i < spans.length; i += 500) {
      expect((await exportSpans(exporter, spans.slice(i, i + 500))).code).toBe(ExportResultCode.SUCCESS);
    }
    await exporter.shutdown();

    const metrics = await fetch(local.url('collectorMetrics', '/metrics'));
    expect(metrics.status).toBe(200);
    const exposition = await metrics.text();
    const sums = new Map<string, number>();
    for (const [, labels, value] of exposition.matchAll(/^llm_tokens_total\{(.*)\} (\S+)$/gm)) {
      const found = /gen_ai_request_model="([^"]*)".*gen_ai_token_type="(\w+)"/.exec(labels!);
      expect(found).not.toBeNull();
      sums.set(`${found![1]} ${found![2]}`, Number(value));
    }
    // The budget, not the cap, bounded them: most of the 8000 label sets went, the newest stayed.
    expect(sums.size).toBeGreaterThan(100);
    expect(sums.size).toBeLessThan(4000);
    // Label values are cut to --max-name-length with a marker, as the span metrics' are.
    const label = (i: number) => `${model(i).slice(0, 2048)}…[truncated ${model(i).length - 2048} chars]`;
    expect(sums.get(`${label(3999)} input`)).toBe(4000);
    expect(sums.get(`${label(3999)} output`)).toBe(8000);
    expect(sums.has(`${label(0)} input`)).toBe(false);
    // Created first but updated all along: least recently UPDATED goes first, so it survives, exact.
    expect(sums.get('steady-model input')).toBe(7 * steadySpans);
    expect(sums.get('steady-model output')).toBe(3 * steadySpans);
    // Every survivor holds exactly the tokens of its span.
    for (const [key, value] of sums) {
      if (key.startsWith('steady-model ')) continue;
      const [, index, type] = /^m(\d+)-x+…\[truncated \d+ chars\] (input|output)$/.exec(key)!;
      expect(value).toBe((type === 'input' ? 1 : 2) * (Number(index) + 1));
    }

    const stopped = await local.stop();
    const summary = stopped.events.at(-1)!;
    expect(summary).toMatchObject({ event: 'stopped', spansReceived: spans.length, spansRefused: 0, tokenCountsNotInMetrics: 0 });
    expect(summary.tokenSeriesEvicted).toBe(8002 - sums.size);
    expect(summary.memoryUsedMiB).toBeGreaterThan(12); // the budget filled up and stayed full
    expect(summary.memoryUsedMiB).toBeLessThanOrEqual(16);
    if (!requireTool('promtool', 'apt-get install prometheus')) return;
    expect(await expositionParseError(exposition)).toBeUndefined();
  });

  it('keeps at most 10,000 llm_tokens_total label sets, evicting the least recently updated instead of dropping new counts', async () => {
    const local = await startLocal(['--quiet']);
    // 5001 models, input and output each: 10,002 label sets.
    const spans = await llmSpans(
      'token-agent',
      Array.from({ length: 5001 }, (_, i) => ({ 'llm.model': `model-${i}`, 'llm.usage.prompt_tokens': 10, 'llm.usage.completion_tokens': 1 })),
    );
    const exporter = new ProtoExporter({ url: local.url('otlpHttp', '/v1/traces') });
    for (let i = 0; i < spans.length; i += 1000) {
      expect((await exportSpans(exporter, spans.slice(i, i + 1000))).code).toBe(ExportResultCode.SUCCESS);
    }
    await exporter.shutdown();
    const exposition = (await (await fetch(local.url('collectorMetrics', '/metrics'))).text())
      .split('\n')
      .filter((line) => line.startsWith('llm_tokens_total{'))
      .join('\n');
    expect(exposition.match(/^llm_tokens_total\{/gm)).toHaveLength(10_000);
    expect(exposition).not.toMatch(/llm_model="model-0"/); // the two oldest went
    expect(exposition).toMatch(/gen_ai_token_type="input",.*llm_model="model-1",.*\} 10$/m);
    expect(exposition).toMatch(/gen_ai_token_type="output",.*llm_model="model-5000",.*\} 1$/m); // the newest came in
    const stopped = await local.stop();
    expect(stopped.events.at(-1)).toMatchObject({ event: 'stopped', spansReceived: 5001, tokenSeriesEvicted: 2, tokenCountsNotInMetrics: 0 });
  });
});

describe('up --local bounds the request bodies it receives at once', () => {
  it('answers 503 with Retry-After past 4 x --max-request-mib in flight, and recovers when they go away', async () => {
    const local = await startLocal(['--quiet', '--max-request-mib', '1']);
    const port = local.ports.otlpHttp;
    const header = (length: number) => `POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
    // Four uploads of 900 KB each that never finish: 3.6 MB held.
    const slow = await idleSockets(port, 4);
    for (const { socket } of slow) socket.write(header(1_000_000) + ' '.repeat(900_000));
    await new Promise((resolve) => setTimeout(resolve, 500));
    // A fifth, complete one does not fit in the 4 MiB.
    const fifth = await new Promise<string>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.end(header(1_000_000) + ' '.repeat(1_000_000)));
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      socket.on('close', () => resolve(answer));
    });
    expect(fifth).toMatch(/^HTTP\/1\.1 503 /);
    expect(fifth).toMatch(/\r\nRetry-After: 1\r\n/i);
    expect(fifth).toContain('--max-request-mib');
    for (const { socket } of slow) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await postJson(local, jsonRequest([jsonSpan('after.the.flood')]))).status).toBe(200);
  });
});

describe('up --local caps names, values and labels, with a marker', () => {
  it('truncates a 1 MiB span name, a 100 KiB value and a 5000-character key, and /metrics stays valid', async () => {
    const local = await startLocal(['--quiet']);
    const name = 'x'.repeat(1024 * 1024);
    const span = jsonSpan(name, {
      attributes: [
        { key: 'llm.completion', value: { stringValue: 'y'.repeat(100_000) } },
        { key: 'k'.repeat(5000), value: { stringValue: 'v' } },
        { key: 'emoji', value: { stringValue: `${'e'.repeat(65_535)}😀tail` } }, // the cut falls inside a surrogate pair
      ],
      events: [{ timeUnixNano: now(), name: 'z'.repeat(1024 * 1024) }],
      status: { code: 2, message: 'm'.repeat(200_000) },
    });
    expect((await postJson(local, jsonRequest([span]))).body).toEqual({});

    const stored = (await getJson(local.url('jaegerUi', `/api/traces/${span.traceId}`))).body.data[0].spans[0];
    expect(stored.operationName).toBe(`${'x'.repeat(1024)}…[truncated ${1024 * 1024 - 1024} chars]`);
    const tags = Object.fromEntries(stored.tags.map((t: any) => [t.key, t.value]));
    expect(tags['llm.completion']).toBe(`${'y'.repeat(65_536)}…[truncated ${100_000 - 65_536} chars]`);
    expect(tags[`${'k'.repeat(1024)}…[truncated 3976 chars]`]).toBe('v');
    expect(tags.emoji).toBe(`${'e'.repeat(65_535)}…[truncated 6 chars]`);
    expect(tags['otel.status_description']).toHaveLength(65_536 + '…[truncated 134464 chars]'.length);
    expect(stored.logs[0].fields[0].value).toMatch(/^z{1024}…\[truncated \d+ chars\]$/);

    const metrics = await fetch(local.url('collectorMetrics', '/metrics'));
    expect(metrics.status).toBe(200);
    const exposition = await metrics.text();
    expect(exposition).toContain(`span_name="${'x'.repeat(1024)}…[truncated`);
    expect(exposition.length).toBeLessThan(200_000);
  });

  it('/metrics answers 200 with an exposition promtool parses, whatever the labels hold', async () => {
    const hostileResource = [
      { key: 'service.name', value: { stringValue: 'svc "quoted" \\ back\nslash \u001b[31m \ud800 lone' } },
      { key: 'service.instance.id', value: { stringValue: 'inst\nance' } },
      { key: '', value: { stringValue: 'empty key' } },
      { key: '1leading.digit', value: { stringValue: 'x' } },
      { key: 'job', value: { stringValue: 'a resource attribute named job' } },
      { key: 'host.name', value: { stringValue: 'h'.repeat(100_000) } },
    ];
    const local = await startLocal(['--quiet']);
    const spans = [
      jsonSpan('name with "quotes" and \\ and \n newline'),
      jsonSpan('tool.invoke', { attributes: [{ key: 'tool.name', value: { stringValue: 'a\u0000b\u0007c' } }, { key: 'llm.model', value: { kvlistValue: { values: [] } } }] }),
    ];
    expect((await postJson(local, jsonRequest(spans, hostileResource))).status).toBe(200);
    const metrics = await fetch(local.url('collectorMetrics', '/metrics'));
    expect(metrics.status).toBe(200);
    const exposition = await metrics.text();
    expect(exposition).toContain('target_info{');
    expect(exposition).toContain('traces_span_metrics_calls_total{');
    if (!requireTool('promtool', 'apt-get install prometheus')) return;
    expect(await expositionParseError(exposition)).toBeUndefined();
  });
});

describe('up --local holds its ports against connection floods', () => {
  it('closes the idlest connections past --max-connections, and exporters still get through on every port', async () => {
    const local = await startLocal(['--quiet', '--max-connections', '16']);
    const httpIdle = await idleSockets(local.ports.otlpHttp, 60);
    const grpcIdle = await idleSockets(local.ports.otlpGrpc, 60);
    await waitFor(() => httpIdle.filter((s) => s.closed).length >= 44 && grpcIdle.filter((s) => s.closed).length >= 44);
    // The newest connections are the ones kept.
    expect(httpIdle.slice(-10).every((s) => !s.closed)).toBe(true);

    const spans = await promptSpans(2);
    const grpcExporter = new GrpcExporter({ url: local.url('otlpGrpc') });
    const protoExporter = new ProtoExporter({ url: local.url('otlpHttp', '/v1/traces') });
    expect((await exportSpans(grpcExporter, spans.slice(0, 1))).code).toBe(ExportResultCode.SUCCESS);
    expect((await exportSpans(protoExporter, spans.slice(1))).code).toBe(ExportResultCode.SUCCESS);
    await Promise.all([grpcExporter.shutdown(), protoExporter.shutdown()]);
    for (const s of [...httpIdle, ...grpcIdle]) s.socket.destroy();

    const stopped = await local.stop();
    expect(stopped.events[0]).toMatchObject({ event: 'listening', maxConnections: 16 });
    expect(stopped.events.at(-1)!.connectionsClosedIdle).toBeGreaterThanOrEqual(88);
  });

  it('keeps every port usable under a 256-descriptor limit: the per-port cap is lowered to fit it', async () => {
    const child = execa('sh', ['-c', `ulimit -n 256 && exec node "${BIN}" up --local --json --quiet --max-connections 1000 ${RANDOM_PORT_FLAGS.join(' ')}`], {
      env: cleanEnv(),
      extendEnv: false,
      reject: false,
    });
    try {
      const listening = await new Promise<any>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!));
        });
        void child.then((result) => reject(new Error(`exited early: ${result.stderr}`)));
      });
      expect(listening.maxConnections).toBe(Math.floor((256 - 64) / 5));
      const ports = listening.ports as Record<string, number>;
      const idle = (await Promise.all(Object.values(ports).map((port) => idleSockets(port, 50)))).flat(); // 250 sockets
      const exporter = new GrpcExporter({ url: `http://127.0.0.1:${ports.otlpGrpc}` });
      expect((await exportSpans(exporter, await promptSpans(1))).code).toBe(ExportResultCode.SUCCESS);
      await exporter.shutdown();
      expect((await fetch(`http://127.0.0.1:${ports.jaegerUi}/api/services`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${ports.collectorHealth}/`)).status).toBe(200);
      for (const s of idle) s.socket.destroy();
    } finally {
      child.kill('SIGTERM');
      await child;
    }
  });
});

describe('up --local refuses pages of other origins', () => {
  it('answers 403 to a Host that is not this machine (DNS rebinding), 200 to localhost and IP literals', async () => {
    const local = await startLocal(['--quiet']);
    for (const [role, path] of [
      ['jaegerUi', '/api/services'],
      ['collectorMetrics', '/metrics'],
      ['otlpHttp', '/v1/traces'],
    ] as const) {
      const port = local.ports[role];
      expect((await getWithHost(port, path, `rebind.attacker.example:${port}`)).status).toBe(403);
      expect((await getWithHost(port, path, `localhost:${port}`)).status).not.toBe(403);
      expect((await getWithHost(port, path, `127.0.0.1:${port}`)).status).not.toBe(403);
      expect((await getWithHost(port, path, `[::1]:${port}`)).status).not.toBe(403);
    }
  });

  it('serves the viewer with a strict Content-Security-Policy and no inline script', async () => {
    const local = await startLocal(['--quiet']);
    const page = await fetch(local.url('jaegerUi', '/'));
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await page.text();
    expect(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g)).toBeNull();
    expect(html).not.toMatch(/\son\w+=/); // no inline event handlers either
  });

  it('gives the viewer every service and the newest traces in one request, however many services', async () => {
    const local = await startLocal(['--quiet']);
    for (let i = 0; i < 300; i++) {
      expect((await postJson(local, jsonRequest([jsonSpan(`op-${i}`)], [{ key: 'service.name', value: { stringValue: `svc-${i}` } }]))).status).toBe(200);
    }
    const { status, body } = await getJson(local.url('jaegerUi', '/api/loom/search?limit=50&pageSize=50'));
    expect(status).toBe(200);
    expect(body.services).toHaveLength(300);
    expect(body.total).toBe(50);
    expect(body.traces).toHaveLength(50);
    expect(body.traces[0]).toMatchObject({ service: 'svc-299', operation: 'op-299', spans: 1, errors: 0 });
    const one = await getJson(local.url('jaegerUi', '/api/loom/search?service=svc-7'));
    expect(one.body.traces.map((t: any) => t.operation)).toEqual(['op-7']);
    expect(one.body.operations).toEqual(['op-7']);
  });
});

describe('the trace viewer in a browser', () => {
  it('refreshes its list with one request, not one per service (300 services, 10 s of its time)', async () => {
    if (!requireTool('chromium', 'apt-get install chromium')) return;
    const local = await startLocal(['--quiet']);
    for (let i = 0; i < 300; i++) {
      expect((await postJson(local, jsonRequest([jsonSpan(`op-${i}`)], [{ key: 'service.name', value: { stringValue: `svc-${i}` } }]))).status).toBe(200);
    }
    // A counting proxy in front of the viewer port: every request the page makes passes through it.
    const seen: string[] = [];
    const proxy = http.createServer((req, res) => {
      seen.push(req.url ?? '');
      const upstream = http.request({ host: '127.0.0.1', port: local.ports.jaegerUi, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const { dir, cleanup } = await tempDir();
    try {
      const page = await execa(
        'chromium',
        ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', `--user-data-dir=${path.join(dir, 'profile')}`,
          '--virtual-time-budget=10000', '--dump-dom', `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}/`],
        { timeout: 60_000, reject: false },
      );
      expect(page.stdout).toContain('op-299');
      const serviceSelect = /<select id="f-service"[^>]*>(.*?)<\/select>/s.exec(page.stdout)?.[1] ?? '';
      expect(serviceSelect.match(/<option /g)?.length).toBe(301); // "all services" and the 300
      const api = seen.filter((url) => url.startsWith('/api/'));
      expect(api.length).toBeGreaterThanOrEqual(2); // the first load and at least one refresh
      expect(api.every((url) => url.startsWith('/api/loom/search?'))).toBe(true);
      expect(api.length).toBeLessThanOrEqual(6); // one per 5 s refresh at most, where one search per service made 300
    } finally {
      proxy.close();
      proxy.closeAllConnections();
      await cleanup();
    }
  });
});

describe("up --local's terminal output is safe from what peers send", () => {
  it('escapes control characters and clips a huge name instead of padding every row with it', async () => {
    const child = execa('node', [BIN, 'up', '--local', ...RANDOM_PORT_FLAGS], { env: cleanEnv({ NO_COLOR: '1' }), extendEnv: false, reject: false });
    try {
      let stdout = '';
      child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      await waitFor(() => /OTLP HTTP\s+http:\/\/127\.0\.0\.1:\d+/.test(stdout));
      const port = Number(/OTLP HTTP\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)![1]);
      const traceId = hexId(16);
      const rootId = hexId(8);
      const spans = [
        jsonSpan('\u001b]0;pwned\u0007\u001b[2J\u001b]52;c;ZXZpbA==\u0007fake output', { traceId, spanId: rootId }),
        ...Array.from({ length: 30 }, (_, i) => jsonSpan(i === 0 ? 'h'.repeat(8 * 1024 * 1024) : `child.${i}`, { traceId, parentSpanId: rootId })),
      ];
      const resource = [{ key: 'service.name', value: { stringValue: 'svc\u001b[31m\u009b2J\u202eevil' } }];
      const post = (body: string) => fetch(`http://127.0.0.1:${port}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      expect((await post(jsonRequest(spans, resource))).status).toBe(200);
      // A refused request whose reason quotes the peer's bytes.
      expect((await post(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '\u001b[2Jzz' }] }] }] }))).status).toBe(400);
      await waitFor(() => stdout.includes('child.29'));
    } finally {
      child.kill('SIGTERM');
    }
    const result = await child;
    const output = `${result.stdout}${result.stderr}`;
    expect(output).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(output).toContain('\\x1b]0;pwned\\x07');
    expect(output).toContain('svc\\x1b[31m\\u009b2J\\u202eevil');
    expect(result.stderr).toContain('\\x1b[2Jzz');
    expect(output.length).toBeLessThan(20_000);
    expect(Math.max(...output.split('\n').map((line) => line.length))).toBeLessThan(300);
  });

  it('--json lines escape the control characters JSON leaves raw (C1, bidi)', async () => {
    const local = await startLocal();
    expect((await postJson(local, jsonRequest([jsonSpan('csi \u009b2J and \u202e override')]))).status).toBe(200);
    await waitFor(() => local.stdout().includes('"event":"span"'));
    const stopped = await local.stop();
    expect(stopped.stdout).not.toMatch(/[\u0080-\u009f\u202e]/);
    expect(stopped.events.find((e) => e.event === 'span')).toMatchObject({ name: 'csi \u009b2J and \u202e override' });
  });
});
