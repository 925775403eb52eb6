/**
 * `up --local` as an OTLP endpoint: the official OTel JS exporters (gRPC, http/protobuf, http/json) send
 * to the built CLI, and every span comes back through the Jaeger API with its attributes, parent link,
 * status, events and resource. Then the receiver is fed what real clients get wrong (bad content type,
 * method, path, malformed and oversized bodies, bad ids) and must answer like the collector and keep serving.
 */
import { gzipSync, deflateSync } from 'node:zlib';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { ROOT } from './helpers/cli.js';
import { getJson, startLocal, stopAllLocal, type LocalRun } from './local-harness.js';

const SPAN_ATTRIBUTES: Attributes = {
  'agent.id': 'agent-7',
  'llm.model': 'gpt-4o',
  'llm.tokens.total': 1234,
  'llm.temperature': 0.25,
  'llm.streaming': false,
  'tool.names': ['search', 'calculator'],
  'retry.delays': [0.5, 1.5],
  'flags.seen': [true, false],
};
const RESOURCE_ATTRIBUTES = { 'service.name': 'test-agent', 'service.version': '2.3.4', 'host.cpus': 8, 'deployment.environment': 'staging' };

/** A Loom-shaped parent/child pair recorded by the real SDK; returned as the exporter will see them. */
async function recordTrace(serviceName: string): Promise<{ spans: ReadableSpan[]; traceId: string }> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ ...RESOURCE_ATTRIBUTES, 'service.name': serviceName }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('loom.test', '0.9.1');
  const root = tracer.startSpan('cognitive.run', { kind: SpanKind.SERVER, attributes: { 'agent.id': 'agent-7' } });
  const child = tracer.startSpan('llm.generate', { kind: SpanKind.CLIENT, attributes: SPAN_ATTRIBUTES }, trace.setSpan(ROOT_CONTEXT, root));
  child.addEvent('llm.retry', { attempt: 2, reason: 'rate limited' });
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited twice' });
  child.end();
  root.setStatus({ code: SpanStatusCode.OK });
  root.end();
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  return { spans, traceId: root.spanContext().traceId };
}

/** Exports through the exporter itself, so a failed delivery is seen (forceFlush would hide it). */
function exportSpans(exporter: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

const micros = ([seconds, nanos]: [number, number]) => seconds * 1_000_000 + Math.floor(nanos / 1000);
const tagsOf = (tags: Array<{ key: string; type: string; value: unknown }>) => Object.fromEntries(tags.map((t) => [t.key, { type: t.type, value: t.value }]));

function expectStoredTrace(body: any, spans: ReadableSpan[], serviceName: string): void {
  expect(body.errors).toBeNull();
  const [stored] = body.data;
  const root = spans.find((s) => s.name === 'cognitive.run')!;
  const child = spans.find((s) => s.name === 'llm.generate')!;
  expect(stored.traceID).toBe(root.spanContext().traceId);
  expect(stored.spans).toHaveLength(2);
  expect(Object.values(stored.processes)).toEqual([
    {
      serviceName,
      tags: [
        { key: 'service.version', type: 'string', value: '2.3.4' },
        { key: 'host.cpus', type: 'int64', value: 8 },
        { key: 'deployment.environment', type: 'string', value: 'staging' },
        // Copied under the semantic conventions' newer name, as the generated collector's resource processor does.
        { key: 'deployment.environment.name', type: 'string', value: 'staging' },
        // service.name copied for Grafana's trace-to-metrics links (Jaeger makes service.name the serviceName).
        { key: 'service_name', type: 'string', value: serviceName },
      ],
    },
  ]);

  const storedChild = stored.spans.find((s: any) => s.operationName === 'llm.generate');
  expect(storedChild.spanID).toBe(child.spanContext().spanId);
  expect(storedChild.references).toEqual([{ refType: 'CHILD_OF', traceID: stored.traceID, spanID: root.spanContext().spanId }]);
  expect(storedChild.startTime).toBe(micros(child.startTime));
  expect(storedChild.duration).toBe(micros(child.duration));
  expect(tagsOf(storedChild.tags)).toEqual({
    'otel.scope.name': { type: 'string', value: 'loom.test' },
    'otel.scope.version': { type: 'string', value: '0.9.1' },
    'agent.id': { type: 'string', value: 'agent-7' },
    'llm.model': { type: 'string', value: 'gpt-4o' },
    'llm.tokens.total': { type: 'int64', value: 1234 },
    'llm.temperature': { type: 'float64', value: 0.25 },
    'llm.streaming': { type: 'bool', value: false },
    'tool.names': { type: 'string', value: '["search","calculator"]' },
    'retry.delays': { type: 'string', value: '[0.5,1.5]' },
    'flags.seen': { type: 'string', value: '[true,false]' },
    'span.kind': { type: 'string', value: 'client' },
    'otel.status_code': { type: 'string', value: 'ERROR' },
    error: { type: 'bool', value: true },
    'otel.status_description': { type: 'string', value: 'rate limited twice' },
  });
  expect(storedChild.logs).toEqual([
    {
      timestamp: micros(child.events[0]!.time),
      fields: [
        { key: 'event', type: 'string', value: 'llm.retry' },
        { key: 'attempt', type: 'int64', value: 2 },
        { key: 'reason', type: 'string', value: 'rate limited' },
      ],
    },
  ]);
  expect(storedChild.processID).toBe('p1');

  const storedRoot = stored.spans.find((s: any) => s.operationName === 'cognitive.run');
  expect(storedRoot.references).toEqual([]);
  expect(tagsOf(storedRoot.tags)).toMatchObject({ 'span.kind': { value: 'server' }, 'otel.status_code': { value: 'OK' } });
  expect(tagsOf(storedRoot.tags)).not.toHaveProperty('error');
}

describe('up --local receives spans from the official OTel JS exporters', () => {
  let local: LocalRun;
  beforeAll(async () => {
    local = await startLocal();
  });
  afterAll(stopAllLocal);

  const exporters: Array<[string, () => SpanExporter]> = [
    ['gRPC', () => new GrpcExporter({ url: local.url('otlpGrpc') })],
    ['gRPC with gzip', () => new GrpcExporter({ url: local.url('otlpGrpc'), compression: CompressionAlgorithm.GZIP })],
    ['http/protobuf', () => new ProtoExporter({ url: local.url('otlpHttp', '/v1/traces') })],
    ['http/protobuf with gzip', () => new ProtoExporter({ url: local.url('otlpHttp', '/v1/traces'), compression: CompressionAlgorithm.GZIP })],
    ['http/json', () => new JsonExporter({ url: local.url('otlpHttp', '/v1/traces') })],
    ['http/json with gzip', () => new JsonExporter({ url: local.url('otlpHttp', '/v1/traces'), compression: CompressionAlgorithm.GZIP })],
  ];
  for (const [name, makeExporter] of exporters) {
    it(`${name}: every attribute, parent link, status, event and resource comes back from /api/traces/{id}`, async () => {
      const serviceName = `agent-${name.replace(/\W+/g, '-')}`;
      const { spans, traceId } = await recordTrace(serviceName);
      const exporter = makeExporter();
      const result = await exportSpans(exporter, spans);
      await exporter.shutdown();
      expect(result.error?.message).toBeUndefined();
      expect(result.code).toBe(ExportResultCode.SUCCESS);
      const { status, body } = await getJson(local.url('jaegerUi', `/api/traces/${traceId}`));
      expect(status).toBe(200);
      expectStoredTrace(body, spans, serviceName);
    });
  }

  it('lists the services the exporters used', async () => {
    const { body } = await getJson(local.url('jaegerUi', '/api/services'));
    expect(body.data).toEqual(expect.arrayContaining(['agent-gRPC', 'agent-http-json', 'agent-http-protobuf-with-gzip']));
    expect(body.total).toBe(body.data.length);
  });
});

/** The OTLP .proto files the receiver uses, loaded the way any protobuf client would. */
function protoTypes() {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(ROOT, 'data/proto', target);
  root.loadSync([
    'opentelemetry/proto/collector/trace/v1/trace_service.proto',
    'opentelemetry/proto/collector/logs/v1/logs_service.proto',
    'google/rpc/status.proto',
  ]);
  return {
    traceRequest: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    traceResponse: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
    logsRequest: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest'),
    status: root.lookupType('google.rpc.Status'),
  };
}

const GOOD_TRACE_ID = '5b8efff798038103d269b633813fc60c';
const BAD_LENGTH_TRACE_ID = '5b8efff798038103d269b633813f'; // 14 bytes

/** One good span and one with a trace id of the wrong length, as OTLP/JSON (hex ids, string int64, string enums). */
function mixedJsonRequest(goodSpanName = 'good.span') {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'json-client' } }] },
        scopeSpans: [
          {
            scope: { name: 'hand-written' },
            spans: [
              {
                traceId: GOOD_TRACE_ID.toUpperCase(),
                spanId: 'EEE19B7EC3C1B174',
                name: goodSpanName,
                kind: 'SPAN_KIND_PRODUCER',
                startTimeUnixNano: '1700000000123456789',
                endTimeUnixNano: '1700000000223457788',
                attributes: [
                  { key: 'big', value: { intValue: '9007199254740993' } },
                  { key: 'small', value: { intValue: 7 } },
                  { key: 'raw', value: { bytesValue: Buffer.from('hello').toString('base64') } },
                  { key: 'nested', value: { kvlistValue: { values: [{ key: 'k', value: { stringValue: 'v' } }] } } },
                ],
                status: { code: 2 },
                someFieldFromTheFuture: true,
              },
              { traceId: BAD_LENGTH_TRACE_ID, spanId: 'eee19b7ec3c1b175', name: 'bad.span' },
            ],
          },
        ],
      },
    ],
  };
}

function post(local: LocalRun, urlPath: string, body: string | Buffer, headers: Record<string, string>) {
  return fetch(local.url('otlpHttp', urlPath), { method: 'POST', body, headers });
}

/** A POST whose body is never finished; resolves once the receiver's handler has the request (100 Continue). */
function unfinishedPost(local: LocalRun): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(local.ports.otlpHttp, '127.0.0.1', () => {
      socket.write('POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n');
    });
    socket.once('data', (chunk: Buffer) => (chunk.toString().startsWith('HTTP/1.1 100') ? resolve(socket) : reject(new Error(chunk.toString()))));
    socket.on('error', () => {}); // reset when up --local stops
  });
}

describe('up --local answers OTLP/HTTP and gRPC requests the way the collector does', () => {
  let local: LocalRun;
  beforeAll(async () => {
    local = await startLocal(['--max-request-mib', '1']);
  });
  afterAll(stopAllLocal);

  it('OTLP/JSON: hex ids in any case, int64 as strings, enums as names, unknown fields ignored, exact microseconds', async () => {
    const response = await post(local, '/v1/traces', JSON.stringify(mixedJsonRequest()), { 'Content-Type': 'application/json' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({
      partialSuccess: { rejectedSpans: '1', errorMessage: expect.stringContaining('trace_id must be 16 bytes, got 14') },
    });
    const { body } = await getJson(local.url('jaegerUi', `/api/traces/${GOOD_TRACE_ID}`));
    const [span] = body.data[0].spans;
    expect(span.spanID).toBe('eee19b7ec3c1b174');
    expect(span.startTime).toBe(1700000000123456);
    expect(span.duration).toBe(100000); // 100000.999 us, truncated like Jaeger
    expect(tagsOf(span.tags)).toMatchObject({
      big: { type: 'int64', value: '9007199254740993' },
      small: { type: 'int64', value: 7 },
      raw: { type: 'binary', value: Buffer.from('hello').toString('base64') },
      nested: { type: 'string', value: '{"k":"v"}' },
      'span.kind': { type: 'string', value: 'producer' },
      'otel.status_code': { value: 'ERROR' },
    });
  });

  it('http/protobuf and gRPC: partial success names the spans that could not be stored', async () => {
    const types = protoTypes();
    const json = mixedJsonRequest('good.protobuf');
    // The same request as protobuf: ids become bytes.
    for (const span of json.resourceSpans[0]!.scopeSpans[0]!.spans) {
      (span as Record<string, unknown>).traceId = Buffer.from(span.traceId, 'hex');
      (span as Record<string, unknown>).spanId = Buffer.from(span.spanId, 'hex');
    }
    const bytes = Buffer.from(types.traceRequest.encode(types.traceRequest.fromObject(json)).finish());

    const response = await post(local, '/v1/traces', bytes, { 'Content-Type': 'application/x-protobuf' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-protobuf');
    const decoded = types.traceResponse.toObject(types.traceResponse.decode(Buffer.from(await response.arrayBuffer())), { longs: String });
    expect(decoded).toEqual({ partialSuccess: { rejectedSpans: '1', errorMessage: expect.stringContaining('trace_id must be 16 bytes') } });

    const Client = grpc.makeGenericClientConstructor(
      {
        Export: {
          path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
          requestStream: false,
          responseStream: false,
          requestSerialize: (b: Buffer) => b,
          requestDeserialize: (b: Buffer) => b,
          responseSerialize: (b: Buffer) => b,
          responseDeserialize: (b: Buffer) => b,
        },
      },
      'TraceService',
    );
    const client = new Client(`127.0.0.1:${local.ports.otlpGrpc}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      Export: (body: Buffer, cb: (err: grpc.ServiceError | null, res: Buffer) => void) => void;
    };
    const call = (body: Buffer) => new Promise<{ err: grpc.ServiceError | null; res: Buffer }>((resolve) => client.Export(body, (err, res) => resolve({ err, res })));
    const ok = await call(bytes);
    expect(ok.err).toBeNull();
    expect(types.traceResponse.toObject(types.traceResponse.decode(ok.res), { longs: String })).toEqual({
      partialSuccess: { rejectedSpans: '1', errorMessage: expect.stringContaining('trace_id must be 16 bytes') },
    });
    const malformed = await call(Buffer.from([0x0a, 0xff, 0x01]));
    expect(malformed.err?.code).toBe(grpc.status.INTERNAL);
    expect(malformed.err?.details).toContain('grpc: error unmarshalling request');
    client.close();
  });

  it('refuses a wrong method (405), content type (415) and path (404) with the collector\'s answers', async () => {
    const get = await fetch(local.url('otlpHttp', '/v1/traces'));
    expect(get.status).toBe(405);
    expect(await get.text()).toBe('405 method not allowed, supported: [POST]');
    const text = await post(local, '/v1/traces', 'hello', { 'Content-Type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(await text.text()).toBe('415 unsupported media type, supported: [application/json, application/x-protobuf]');
    const unknown = await post(local, '/v1/spans', '{}', { 'Content-Type': 'application/json' });
    expect(unknown.status).toBe(404);
  });

  it('answers 400 to a request target no URL can be made of, on every HTTP port', async () => {
    for (const port of [local.ports.otlpHttp, local.ports.jaegerUi, local.ports.collectorMetrics, local.ports.collectorHealth]) {
      const statusLine = await new Promise<string>((resolve, reject) => {
        let answer = '';
        const socket = net.connect(port, '127.0.0.1', () => socket.write('GET //x:y HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
        socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
        socket.on('end', () => resolve(answer.split('\r\n')[0] ?? ''));
        socket.on('error', reject);
      });
      expect(statusLine, `port ${port}`).toBe('HTTP/1.1 400 Bad Request');
    }
  });

  it('refuses malformed bodies with 400 and a google.rpc.Status in the request encoding', async () => {
    const types = protoTypes();
    const badProto = await post(local, '/v1/traces', Buffer.from([0x0a, 0xff, 0x01]), { 'Content-Type': 'application/x-protobuf' });
    expect(badProto.status).toBe(400);
    const status = types.status.toObject(types.status.decode(Buffer.from(await badProto.arrayBuffer())));
    expect(status).toMatchObject({ code: 3, message: expect.stringContaining('proto: cannot parse ExportTraceServiceRequest') });

    const badJson = await post(local, '/v1/traces', '{"resourceSpans": [', { 'Content-Type': 'application/json' });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toEqual({ code: 3, message: expect.stringContaining('json: cannot parse') });

    const notHex = await post(local, '/v1/traces', JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'not-hex', spanId: '01' }] }] }] }), {
      'Content-Type': 'application/json',
    });
    expect(notHex.status).toBe(400);
    expect(((await notHex.json()) as { message: string }).message).toContain('traceId "not-hex" is not a hex string');

    // An attribute value nested 20,000 arrays deep: past protobufjs's depth limit, and deep enough to overflow a recursive walk.
    const levels = 20_000;
    const deepValue = `${'{"arrayValue":{"values":['.repeat(levels)}{"stringValue":"x"}${']}}'.repeat(levels)}`;
    const deeplyNested = await post(
      local,
      '/v1/traces',
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${'ab'.repeat(16)}","spanId":"${'cd'.repeat(8)}","attributes":[{"key":"deep","value":${deepValue}}]}]}]}]}`,
      { 'Content-Type': 'application/json' },
    );
    expect(deeplyNested.status).toBe(400);
    expect(await deeplyNested.json()).toEqual({ code: 3, message: expect.stringContaining('json: invalid ExportTraceServiceRequest: max depth exceeded') });

    const badGzip = await post(local, '/v1/traces', Buffer.from('not gzip at all'), { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
    expect(badGzip.status).toBe(400);
    const brotli = await post(local, '/v1/traces', '{}', { 'Content-Type': 'application/json', 'Content-Encoding': 'br' });
    expect(brotli.status).toBe(400);
    expect(((await brotli.json()) as { message: string }).message).toBe('unsupported Content-Encoding: br');
  });

  it('accepts gzip and deflate bodies', async () => {
    for (const [encoding, compress] of [['gzip', gzipSync], ['deflate', deflateSync]] as const) {
      const response = await post(local, '/v1/traces', compress(JSON.stringify(mixedJsonRequest(`compressed.${encoding}`))), {
        'Content-Type': 'application/json',
        'Content-Encoding': encoding,
      });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { partialSuccess: { rejectedSpans: string } }).partialSuccess.rejectedSpans).toBe('1');
    }
    const { body } = await getJson(local.url('jaegerUi', '/api/services/json-client/operations'));
    expect(body.data).toEqual(expect.arrayContaining(['compressed.gzip', 'compressed.deflate']));
  });

  it('refuses bodies over --max-request-mib with 413: declared, streamed, decompressed, and over gRPC', async () => {
    const big = Buffer.alloc(1.5 * 1024 * 1024, 'a');
    const declared = await post(local, '/v1/traces', big, { 'Content-Type': 'application/x-protobuf' });
    expect(declared.status).toBe(413);

    const streamed = await fetch(local.url('otlpHttp', '/v1/traces'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 12; i++) controller.enqueue(new Uint8Array(128 * 1024));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as { message: string }).message).toContain('the limit is 1 MiB');

    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024)); // a few KiB that inflate to 8 MiB
    const inflated = await post(local, '/v1/logs', bomb, { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' });
    expect(inflated.status).toBe(413);

    const { spans } = await recordTrace('oversized');
    spans[0]!.attributes['payload'] = 'x'.repeat(2 * 1024 * 1024);
    const exporter = new GrpcExporter({ url: local.url('otlpGrpc') });
    const result = await exportSpans(exporter, spans);
    await exporter.shutdown();
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect((result.error as { code?: number }).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it('accepts and counts metrics and logs, keeps serving after every refusal, and stops cleanly on SIGTERM', async () => {
    const metrics = {
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                { name: 'requests', sum: { dataPoints: [{ asInt: '3' }, { asInt: '4' }], aggregationTemporality: 2, isMonotonic: true } },
                { name: 'queue', gauge: { dataPoints: [{ asDouble: 1.5 }] } },
              ],
            },
          ],
        },
      ],
    };
    const metricsResponse = await post(local, '/v1/metrics', JSON.stringify(metrics), { 'Content-Type': 'application/json' });
    expect(metricsResponse.status).toBe(200);
    expect(await metricsResponse.json()).toEqual({});

    const types = protoTypes();
    const logs = types.logsRequest.encode(
      types.logsRequest.fromObject({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'a' } }, { body: { stringValue: 'b' } }] }] }] }),
    ).finish();
    const logsResponse = await post(local, '/v1/logs', Buffer.from(logs), { 'Content-Type': 'application/x-protobuf' });
    expect(logsResponse.status).toBe(200);
    expect((await logsResponse.arrayBuffer()).byteLength).toBe(0); // an empty ExportLogsServiceResponse

    // Still serving: a normal export works after all the refusals above.
    const { spans, traceId } = await recordTrace('after-refusals');
    const exporter = new GrpcExporter({ url: local.url('otlpGrpc') });
    expect((await exportSpans(exporter, spans)).code).toBe(ExportResultCode.SUCCESS);
    await exporter.shutdown();
    expect((await getJson(local.url('jaegerUi', `/api/traces/${traceId}`))).status).toBe(200);
    const health = await getJson(local.url('collectorHealth', '/'));
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'Server available', upSince: expect.any(String), uptime: expect.stringMatching(/s$/) });

    // A client that gives up mid-body, and one still sending when up --local stops: neither was refused.
    const abandoned = await unfinishedPost(local);
    abandoned.end('{"resourceSpans"', () => abandoned.destroy());
    (await unfinishedPost(local)).write('{"resourceSpans"');

    const stopped = await local.stop('SIGTERM');
    expect(stopped.exitCode).toBe(0);
    expect(stopped.events.filter((e) => e.event === 'refused' && e.status === 500)).toEqual([]);
    const summary = stopped.events.at(-1)!;
    expect(summary).toMatchObject({ event: 'stopped', metricPoints: 3, logRecords: 2 });
    expect(summary.requestsRefused).toBeGreaterThanOrEqual(8);
    const refusedStatuses = stopped.events.filter((e) => e.event === 'refused').map((e) => e.status);
    expect(refusedStatuses).toEqual(expect.arrayContaining([415, 400, 413, 'INTERNAL']));
    // A GET on a traces route (how doctor proves the route exists) is answered 405 but is no refused export.
    expect(refusedStatuses).not.toContain(405);
  });
});
