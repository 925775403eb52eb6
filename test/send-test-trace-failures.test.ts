/**
 * `send-test-trace` against receivers and backends that misbehave the ways real ones do: refused ports,
 * servers that never answer, gRPC UNAVAILABLE, HTTP 401, partial success, a Jaeger that never has the
 * trace, a Jaeger that has part of it, a Prometheus that never counts it. Each fake is a real loopback
 * server; the built CLI is spawned as a user runs it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { BIN, cleanEnv, runCli, tempDir } from './helpers/cli.js';
import { freePort } from './helpers/ports.js';
import { requireTool } from './helpers/validators.js';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});
const afterAllStops: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(afterAllStops.splice(0).map((stop) => stop()));
});

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const SPANS_PER_TRACE = 15;

type GrpcAnswer = { error: { code: number; details: string } } | { response: Buffer } | 'hang';

/** An OTLP/gRPC trace receiver whose every Export gets `answer` (raw bytes: no decoding needed). */
async function grpcReceiver(answer: GrpcAnswer, cleanup = stops): Promise<{ url: string; exports: () => number }> {
  const server = new grpc.Server();
  let exports = 0;
  const raw = (buffer: Buffer) => buffer;
  server.addService(
    { Export: { path: EXPORT_PATH, requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw } },
    {
      Export: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        exports += 1;
        if (answer === 'hang') return;
        if ('error' in answer) callback(answer.error);
        else callback(null, answer.response);
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  cleanup.push(async () => {
    server.forceShutdown();
  });
  return { url: `http://127.0.0.1:${port}`, exports: () => exports };
}

async function httpServer(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stops.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

/** A TCP port that accepts connections and never says a word. */
async function silentPort(): Promise<string> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stops.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

/** A port nothing listens on: bound, then released. */
async function refusedPort(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}

/** ExportTraceServiceResponse { partial_success { rejected_spans, error_message } } in protobuf. */
function partialSuccessProto(rejected: number, message: string): Buffer {
  const writer = protobuf.Writer.create();
  writer.uint32((1 << 3) | 2).fork();
  writer.uint32((1 << 3) | 0).int64(rejected);
  writer.uint32((2 << 3) | 2).string(message);
  writer.ldelim();
  return Buffer.from(writer.finish());
}

async function readBody(request: http.IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of request) body += chunk;
  return body;
}

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
  startUs: number;
  durationUs: number;
  error: boolean;
  environment?: string;
}

/** An OTLP/HTTP JSON receiver that keeps every span it accepts. */
async function jsonReceiver(): Promise<{ url: string; spans: ReceivedSpan[] }> {
  const spans: ReceivedSpan[] = [];
  type AnyValue = { stringValue?: string };
  type Otlp = {
    resourceSpans: Array<{
      resource: { attributes: Array<{ key: string; value: AnyValue }> };
      scopeSpans: Array<{
        spans: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string; startTimeUnixNano: string; endTimeUnixNano: string; status?: { code?: number } }>;
      }>;
    }>;
  };
  const url = await httpServer(async (request, response) => {
    const body = JSON.parse(await readBody(request)) as Otlp;
    for (const resourceSpans of body.resourceSpans) {
      const resource = (key: string) => resourceSpans.resource.attributes.find((a) => a.key === key)?.value.stringValue;
      const service = resource('service.name') ?? '?';
      const environment = resource('deployment.environment');
      for (const scope of resourceSpans.scopeSpans) {
        for (const span of scope.spans) {
          const startUs = Number(BigInt(span.startTimeUnixNano) / 1000n);
          spans.push({
            traceId: span.traceId,
            spanId: span.spanId,
            ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
            name: span.name,
            service,
            startUs,
            durationUs: Number(BigInt(span.endTimeUnixNano) / 1000n) - startUs,
            error: span.status?.code === 2,
            ...(environment ? { environment } : {}),
          });
        }
      }
    }
    response.setHeader('content-type', 'application/json');
    response.end('{}');
  });
  return { url, spans };
}

/** A Jaeger query API serving what `stored` returns for a trace id (undefined: 404, not stored yet). */
async function fakeJaeger(stored: (traceId: string) => ReceivedSpan[] | undefined): Promise<string> {
  return httpServer((request, response) => {
    const match = /^\/api\/traces\/([0-9a-f]{32})$/.exec(request.url ?? '');
    const spans = match ? stored(match[1]!) : undefined;
    response.setHeader('content-type', 'application/json');
    if (!spans || spans.length === 0) {
      response.statusCode = 404;
      response.end(JSON.stringify({ data: null, errors: [{ code: 404, msg: 'trace not found' }] }));
      return;
    }
    const services = [...new Set(spans.map((s) => s.service))];
    response.end(
      JSON.stringify({
        data: [
          {
            traceID: match![1],
            spans: spans.map((s) => ({
              traceID: s.traceId,
              spanID: s.spanId,
              operationName: s.name,
              references: s.parentSpanId ? [{ refType: 'CHILD_OF', traceID: s.traceId, spanID: s.parentSpanId }] : [],
              startTime: s.startUs,
              duration: s.durationUs,
              tags: s.error ? [{ key: 'error', type: 'bool', value: true }, { key: 'otel.status_code', type: 'string', value: 'ERROR' }] : [],
              processID: `p${services.indexOf(s.service) + 1}`,
            })),
            processes: Object.fromEntries(services.map((service, i) => [`p${i + 1}`, { serviceName: service, tags: [] }])),
          },
        ],
      }),
    );
  });
}

/** A Prometheus query API answering the spanmetrics call count `count()` for any query it is asked. */
async function fakePrometheus(count: () => number | undefined, queries: string[]): Promise<string> {
  return httpServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    queries.push(url.searchParams.get('query') ?? '');
    const value = count();
    response.setHeader('content-type', 'application/json');
    response.end(
      JSON.stringify({
        status: 'success',
        data: { resultType: 'vector', result: value === undefined ? [] : [{ metric: {}, value: [Date.now() / 1000, String(value)] }] },
      }),
    );
  });
}

const send = (...args: string[]) => runCli(['send-test-trace', ...args]);

describe('send-test-trace: export failures (exit 1, cause and fix)', () => {
  it('a refused gRPC port names the refusal and how to start a collector', async () => {
    const run = await send('--endpoint', await refusedPort(), '--no-verify');
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/^Trace [0-9a-f]{32}$/m);
    expect(run.stderr).toContain('connection refused');
    expect(run.stderr).toContain('Fix: Start the collector (`loom-otel up`, or `loom-otel up --local`)');
  });

  it('a refused OTLP/HTTP port, with --json: the failure as data', async () => {
    const run = await runCli(['--json', 'send-test-trace', '--endpoint', await refusedPort(), '--protocol', 'http/protobuf', '--timeout', '1', '--no-verify']);
    expect(run.exitCode, run.stderr).toBe(1);
    const doc = JSON.parse(run.stdout) as { ok: boolean; traceId: string; export: { ok: boolean; failure: { kind: string } }; error: { exitCode: number; fix: string } };
    expect(doc.ok).toBe(false);
    expect(doc.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(doc.export.failure.kind).toBe('refused');
    expect(doc.error.exitCode).toBe(1);
    expect(doc.error.fix).toContain('OTLP/HTTP is usually port 4318');
  });

  it('a gRPC server that never answers ends at --timeout with DEADLINE_EXCEEDED described', async () => {
    const receiver = await grpcReceiver('hang');
    const run = await send('--endpoint', receiver.url, '--timeout', '1', '--no-verify');
    expect(run.exitCode, run.stderr).toBe(1);
    expect(receiver.exports()).toBe(1);
    expect(run.stderr).toContain('got no answer within 1000 ms');
  });

  it('a port that accepts TCP and never answers OTLP/HTTP ends at --timeout', async () => {
    const run = await send('--endpoint', await silentPort(), '--protocol', 'http/json', '--timeout', '1', '--no-verify');
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.stderr).toContain('got no answer within 1000 ms');
  });

  it('https:// against a plaintext gRPC receiver: TLS to a plaintext port, and how to fix the scheme', async () => {
    const receiver = await grpcReceiver({ response: Buffer.alloc(0) });
    const tlsUrl = receiver.url.replace('http://', 'https://');
    const run = await send('--endpoint', tlsUrl, '--no-verify');
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.stderr).toContain(`TLS was used but ${new URL(tlsUrl).host} speaks plaintext.`);
    expect(run.stderr).toContain(`Fix: Use http:// in the endpoint (e.g. ${receiver.url})`);
    expect(run.stderr).not.toContain('DeprecationWarning');
  });

  it('OTLP/HTTP to a gRPC port (HTTP/2 only) is named as the wrong protocol, not a connection failure', async () => {
    const receiver = await grpcReceiver({ response: Buffer.alloc(0) });
    const run = await send('--endpoint', receiver.url, '--protocol', 'http/protobuf', '--no-verify', '--timeout', '2');
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.stderr).toContain('speaks HTTP/2 only (gRPC), not OTLP/HTTP');
    expect(run.stderr).toContain('OTEL_EXPORTER_OTLP_PROTOCOL=grpc');
  });

  it('gRPC UNAVAILABLE is reported with its code and the server message', async () => {
    const receiver = await grpcReceiver({ error: { code: grpc.status.UNAVAILABLE, details: 'collector is shutting down' } });
    const run = await send('--endpoint', receiver.url, '--no-verify');
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.stderr).toContain('UNAVAILABLE (14): collector is shutting down');
  });

  it('HTTP 401 says credentials are missing and sends the --header given', async () => {
    const seen: Array<string | undefined> = [];
    const url = await httpServer(async (request, response) => {
      await readBody(request);
      seen.push(request.headers['x-api-key'] as string | undefined);
      response.statusCode = 401;
      response.end('missing or wrong api key');
    });
    const run = await send('--endpoint', url, '--protocol', 'http/protobuf', '--header', 'x-api-key=k3y-0f-the-test', '--no-verify');
    expect(run.exitCode, run.stderr).toBe(1);
    expect(seen).toEqual(['k3y-0f-the-test']);
    expect(run.stderr).toContain('401 Unauthorized (missing or wrong api key)');
    expect(run.stderr).toContain('Fix: Set OTEL_EXPORTER_OTLP_HEADERS');
    expect(run.stdout + run.stderr).not.toContain('k3y-0f-the-test'); // header values are never printed
    expect(run.stdout).toContain('headers: x-api-key');
  });

  it('a header gRPC metadata cannot carry is dropped with a warning by name, never crashing with its value', async () => {
    const receiver = await grpcReceiver({ response: Buffer.alloc(0) });
    const env = { ...cleanEnv(), OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%0AS3CRET-A,x-tenant=acme,Authorization: Bearer S3CRET-B=' };
    const run = await runCli(['send-test-trace', '--endpoint', receiver.url, '--no-verify'], { env });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(receiver.exports()).toBe(1);
    expect(run.stderr).toContain('the value of header "authorization" has a character gRPC metadata cannot carry');
    expect(run.stderr).toContain('a header name is not valid gRPC metadata');
    expect(run.stdout).toContain('headers: x-tenant');
    expect(run.stdout + run.stderr).not.toMatch(/S3CRET|Unexpected error/);
  });

  it('sends the headers it prints: a traces-specific list replaces the generic one (the OTel JS exporter alone would merge them)', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const url = await httpServer(async (request, response) => {
      await readBody(request);
      seen.push(request.headers);
      response.statusCode = 200;
      response.end();
    });
    const env = { ...cleanEnv(), OTEL_EXPORTER_OTLP_HEADERS: 'x-generic=1', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-traces=2' };
    const run = await runCli(['send-test-trace', '--endpoint', url, '--protocol', 'http/protobuf', '--no-verify'], { env });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('headers: x-traces');
    expect(seen.map((headers) => [headers['x-traces'], headers['x-generic']])).toEqual([['2', undefined]]);
  });

  it('--header in curl syntax is refused without quoting the secret back', async () => {
    const run = await send('--endpoint', await refusedPort(), '--header', 'Authorization: Bearer S3CRET', '--no-verify');
    expect(run.exitCode, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/--header takes key=value/);
    expect(run.stdout + run.stderr).not.toContain('S3CRET');
  });
});

describe.runIf(requireTool('openssl', 'apt-get install openssl'))('send-test-trace: TLS', () => {
  /** A self-signed certificate for localhost and 127.0.0.1: key and certificate PEM files. */
  async function selfSigned(): Promise<{ key: string; cert: string }> {
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const [key, cert] = [path.join(dir, 'key.pem'), path.join(dir, 'cert.pem')];
    await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
    return { key, cert };
  }

  /** A gRPC receiver behind a self-signed certificate. */
  async function tlsReceiver(): Promise<{ url: string; certificate: string }> {
    const { key, cert } = await selfSigned();
    const server = new grpc.Server();
    const raw = (buffer: Buffer) => buffer;
    server.addService(
      { Export: { path: EXPORT_PATH, requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw } },
      { Export: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.alloc(0)) },
    );
    const credentials = grpc.ServerCredentials.createSsl(null, [{ private_key: await readFile(key), cert_chain: await readFile(cert) }]);
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound))));
    stops.push(async () => {
      server.forceShutdown();
    });
    return { url: `https://localhost:${port}`, certificate: cert };
  }

  it('OTEL_EXPORTER_OTLP_CERTIFICATE makes a self-signed receiver trusted', async () => {
    const receiver = await tlsReceiver();
    const run = await runCli(['send-test-trace', '--endpoint', receiver.url, '--no-verify'], { env: cleanEnv({ OTEL_EXPORTER_OTLP_CERTIFICATE: receiver.certificate }) });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('15 of 15 spans accepted');
  });

  it('without it, the certificate is reported as not trusted, with the variable to set', async () => {
    const receiver = await tlsReceiver();
    const run = await send('--endpoint', receiver.url, '--no-verify', '--timeout', '2');
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/The TLS certificate of localhost:\d+ is not trusted/);
    expect(run.stderr).toContain('OTEL_EXPORTER_OTLP_CERTIFICATE');
  });

  it('gRPC to an HTTPS server that does not speak HTTP/2 is named as HTTP/1.1, not as UNAVAILABLE', async () => {
    const { key, cert } = await selfSigned();
    const server = https.createServer({ key: await readFile(key), cert: await readFile(cert) }, (_request, response) => response.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `https://localhost:${(server.address() as net.AddressInfo).port}`;
    const run = await runCli(['send-test-trace', '--endpoint', url, '--no-verify', '--timeout', '2'], { env: cleanEnv({ OTEL_EXPORTER_OTLP_CERTIFICATE: cert }) });
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.stderr).toContain('is an HTTP/1.1 server, not gRPC (HTTP/2)');
    expect(run.stderr).toContain('OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf');
  });

  it('a certificate file that cannot be read is named', async () => {
    const receiver = await tlsReceiver();
    const run = await runCli(['send-test-trace', '--endpoint', receiver.url, '--no-verify'], { env: cleanEnv({ OTEL_EXPORTER_OTLP_CERTIFICATE: '/nonexistent/ca.pem' }) });
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.stderr).toContain('Cannot read /nonexistent/ca.pem (OTEL_EXPORTER_OTLP_CERTIFICATE)');
  });
});

describe('send-test-trace: partial success', () => {
  it('gRPC: rejected spans are counted (the exporter itself reports SUCCESS)', async () => {
    const receiver = await grpcReceiver({ response: partialSuccessProto(4, 'span attribute limit exceeded') });
    const run = await send('--endpoint', receiver.url, '--no-verify');
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.stdout).toContain(`${SPANS_PER_TRACE - 4} of ${SPANS_PER_TRACE} spans accepted`);
    expect(run.stderr).toContain(`rejected 4 of ${SPANS_PER_TRACE} spans (partial success): span attribute limit exceeded`);
  });

  it('OTLP/HTTP JSON: rejectedSpans read from the response body', async () => {
    const url = await httpServer(async (request, response) => {
      await readBody(request);
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ partialSuccess: { rejectedSpans: '2', errorMessage: 'queue full' } }));
    });
    const run = await runCli(['--json', 'send-test-trace', '--endpoint', url, '--protocol', 'http/json', '--no-verify']);
    expect(run.exitCode, run.stderr).toBe(1);
    const doc = JSON.parse(run.stdout) as { export: { rejectedSpans: number; receiverMessage: string; failure: { kind: string } } };
    expect(doc.export).toMatchObject({ rejectedSpans: 2, receiverMessage: 'queue full', failure: { kind: 'partial-success' } });
  });

  it('OTLP/HTTP protobuf: nothing rejected but a message is a warning, not a failure', async () => {
    const url = await httpServer(async (request, response) => {
      await readBody(request);
      response.setHeader('content-type', 'application/x-protobuf');
      response.end(partialSuccessProto(0, 'attribute values truncated'));
    });
    const run = await send('--endpoint', url, '--protocol', 'http/protobuf', '--no-verify');
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain(`${SPANS_PER_TRACE} of ${SPANS_PER_TRACE} spans accepted`);
    expect(run.stdout).toMatch(/receiver\s+attribute values truncated/);
  });
});

describe('send-test-trace: verification', () => {
  it('a trace Jaeger never has: exit 3 after --wait, with what was seen and a pointer to doctor', async () => {
    const receiver = await grpcReceiver({ response: Buffer.alloc(0) });
    const lookups: string[] = [];
    const jaeger = await fakeJaeger((traceId) => {
      lookups.push(traceId);
      return undefined;
    });
    const run = await send('--endpoint', receiver.url, '--jaeger-url', jaeger, '--wait', '1');
    expect(run.exitCode, run.stderr).toBe(3);
    const traceId = /^Trace ([0-9a-f]{32})$/m.exec(run.stdout)?.[1];
    expect(lookups.length).toBeGreaterThan(1);
    expect(new Set(lookups)).toEqual(new Set([traceId]));
    expect(run.stdout).toMatch(/Jaeger\s+0\/15 spans after 1 s/);
    expect(run.stderr).toContain(`Not seen within 1 s: Jaeger had none of the ${SPANS_PER_TRACE} spans. Seen: exported ${SPANS_PER_TRACE} spans.`);
    expect(run.stderr).toContain('loom-otel doctor');
  });

  it('a Jaeger that is not running: exit 3 naming the unreachable URL', async () => {
    const receiver = await grpcReceiver({ response: Buffer.alloc(0) });
    const jaeger = await refusedPort();
    const run = await send('--endpoint', receiver.url, '--jaeger-url', jaeger, '--wait', '1');
    expect(run.exitCode, run.stderr).toBe(3);
    expect(run.stderr).toContain(`Jaeger at ${jaeger} could not be reached (ECONNREFUSED)`);
    expect(run.stderr).toContain('--no-verify');
  });

  it('only the agent side stored: exit 3 listing the loom-core spans that are missing', async () => {
    const receiver = await jsonReceiver();
    const jaeger = await fakeJaeger((traceId) => receiver.spans.filter((s) => s.traceId === traceId && s.service !== 'loom-core'));
    const run = await send('--endpoint', receiver.url, '--protocol', 'http/json', '--jaeger-url', jaeger, '--wait', '1');
    expect(run.exitCode, run.stderr).toBe(3);
    expect(run.stderr).toMatch(/Jaeger had 8 of 15 spans \(missing [^)]*\(loom-core\)/);
    expect(run.stdout).toContain('As stored in Jaeger:');
  });

  it('all spans stored: exit 0, the waterfall read back from Jaeger, error marks with --error, and the trace link', async () => {
    const receiver = await jsonReceiver();
    const jaeger = await fakeJaeger((traceId) => receiver.spans.filter((s) => s.traceId === traceId));
    const run = await send('--endpoint', receiver.url, '--protocol', 'http/json', '--jaeger-url', jaeger, '--error');
    expect(run.exitCode, run.stderr).toBe(0);
    const traceId = /^Trace ([0-9a-f]{32})$/m.exec(run.stdout)?.[1];
    expect(run.stdout).toMatch(/Jaeger\s+15\/15 spans, 2 services \(loom-test-agent, loom-core\) after/);
    expect(run.stdout).toContain('As stored in Jaeger:');
    expect(run.stdout).toMatch(/loom-core\s+│\s+└─ bridge\.publish/);
    const failed = run.stdout.split('\n').filter((line) => line.includes('✖ error'));
    expect(failed.map((line) => /(cognitive\.tool_call|tool\.invoke|call) /.exec(line)?.[1])).toEqual(['cognitive.tool_call', 'tool.invoke', 'call']);
    expect(run.stdout).toContain(`Jaeger:  ${jaeger}/trace/${traceId}`);
  });

  it('Prometheus: waits until the service counter grows past its value before the export', async () => {
    const receiver = await jsonReceiver();
    const jaeger = await fakeJaeger((traceId) => receiver.spans.filter((s) => s.traceId === traceId));
    const queries: string[] = [];
    const earlier = 40;
    // Counts like spanmetrics: earlier runs, plus the agent-side spans received so far.
    const prometheus = await fakePrometheus(() => earlier + receiver.spans.filter((s) => s.service === 'my-agent').length, queries);
    const run = await runCli(['--json', 'send-test-trace', '--service', 'my-agent', '--endpoint', receiver.url, '--protocol', 'http/json', '--jaeger-url', jaeger, '--prometheus-url', prometheus]);
    expect(run.exitCode, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout) as { ok: boolean; prometheus: { visible: boolean; before: number; calls: number; seconds: number } };
    expect(doc.prometheus).toMatchObject({ visible: true, before: earlier, calls: earlier + 8 });
    expect(queries[0]).toBe('sum(traces_span_metrics_calls_total{service_name="my-agent"})');
  });

  it('Prometheus that never counts the trace: exit 3 naming Prometheus, Jaeger reported as seen', async () => {
    const receiver = await jsonReceiver();
    const jaeger = await fakeJaeger((traceId) => receiver.spans.filter((s) => s.traceId === traceId));
    const prometheus = await fakePrometheus(() => undefined, []);
    const run = await send('--endpoint', receiver.url, '--protocol', 'http/json', '--jaeger-url', jaeger, '--prometheus-url', prometheus, '--wait', '1');
    expect(run.exitCode, run.stderr).toBe(3);
    expect(run.stderr).toContain('Prometheus showed no new spanmetrics for loom-test-agent');
    expect(run.stderr).toContain('Seen: exported 15 spans; Jaeger stored all 15 spans.');
    expect(run.stderr).toContain("flush interval plus a scrape");
  });

  it('--no-verify asks no backend and shows the trace as sent', async () => {
    const receiver = await grpcReceiver({ response: Buffer.alloc(0) });
    const lookups: string[] = [];
    const jaeger = await fakeJaeger((traceId) => {
      lookups.push(traceId);
      return undefined;
    });
    const run = await send('--endpoint', receiver.url, '--jaeger-url', jaeger, '--no-verify');
    expect(run.exitCode, run.stderr).toBe(0);
    expect(lookups).toEqual([]);
    expect(run.stdout).toContain('As sent (not read back):');
  });
});

describe('send-test-trace: the stack manifest', () => {
  it('takes the endpoint, Jaeger and Prometheus from --dir, and links the Grafana dashboard', async () => {
    const receiver = await jsonReceiver();
    const jaeger = await fakeJaeger((traceId) => receiver.spans.filter((s) => s.traceId === traceId));
    const prometheus = await fakePrometheus(() => receiver.spans.length || undefined, []);
    const port = (url: string) => Number(new URL(url).port);
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const stackDir = path.join(dir, 'observability');
    await mkdir(stackDir);
    const ports = { otlpGrpc: 1, otlpHttp: port(receiver.url), collectorHealth: 13133, collectorMetrics: 8889, jaegerUi: port(jaeger), prometheus: port(prometheus), grafana: 3999 };
    const options = { name: 'loom-observability', parts: { jaeger: true, prometheus: true, grafana: true }, ports, expose: false, environment: 'staging', samplingPercent: 100 };
    await writeFile(path.join(stackDir, 'loom-otel.json'), JSON.stringify({ tool: 'loom-otel', manifestVersion: 1, options, files: {} }));
    const run = await runCli(['--json', 'send-test-trace', '--dir', stackDir, '--protocol', 'http/json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout) as { endpoint: { url: string; source: string }; jaeger: { source: string; visible: boolean }; prometheus: { source: string; visible: boolean }; links: { grafana: string } };
    expect(doc.endpoint).toMatchObject({ url: `${receiver.url}/v1/traces`, source: 'stack manifest' });
    expect(doc.jaeger).toMatchObject({ source: 'stack manifest', visible: true });
    expect(doc.prometheus).toMatchObject({ source: 'stack manifest', visible: true });
    expect(doc.links.grafana).toBe('http://127.0.0.1:3999/d/loom-agents');
    expect(new Set(receiver.spans.map((s) => s.environment))).toEqual(new Set(['staging']));
  });
});

/** Whether nothing accepts connections on 127.0.0.1:port. */
async function nothingListensOn(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

// Without a manifest or --jaeger-url, Jaeger's default port is only a guess; a Jaeger (or up --local)
// already running there on this machine makes the next test moot.
const jaegerDefaultPortFree = await nothingListensOn(16686);

describe('send-test-trace: no manifest and no --jaeger-url', () => {
  it.runIf(jaegerDefaultPortFree)('nothing on Jaeger\'s default port: reported as not checked at once, exit 0', async () => {
    const receiver = await grpcReceiver({ response: Buffer.alloc(0) });
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const run = await runCli(['send-test-trace', '--endpoint', receiver.url], { cwd: dir });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Jaeger\s+not checked: Jaeger at http:\/\/127\.0\.0\.1:16686 could not be reached \(ECONNREFUSED\) \(give --jaeger-url/);
  });
});

describe('send-test-trace: the stack manifest without its Prometheus', () => {
  it('a manifest Prometheus that refuses connections (stack not up) is reported as not checked, not waited for', async () => {
    const receiver = await jsonReceiver();
    const jaeger = await fakeJaeger((traceId) => receiver.spans.filter((s) => s.traceId === traceId));
    const port = (url: string) => Number(new URL(url).port);
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const ports = { otlpGrpc: 1, otlpHttp: port(receiver.url), collectorHealth: 13133, collectorMetrics: 8889, jaegerUi: port(jaeger), prometheus: port(await refusedPort()), grafana: 3999 };
    const options = { name: 'loom-observability', parts: { jaeger: true, prometheus: true, grafana: true }, ports, expose: false, environment: 'development', samplingPercent: 100 };
    await writeFile(path.join(dir, 'loom-otel.json'), JSON.stringify({ tool: 'loom-otel', manifestVersion: 1, options, files: {} }));
    const run = await send('--dir', dir, '--protocol', 'http/json', '--wait', '20');
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Prometheus\s+not checked: Prometheus at http:\/\/127\.0\.0\.1:\d+ could not be reached \(ECONNREFUSED\) \(the stack's Prometheus is not running: start it with `loom-otel up`/);
  });
});

describe('send-test-trace: load mode', () => {
  it('sends every span in batches and summarises throughput and latency', async () => {
    const receiver = await jsonReceiver();
    const run = await runCli(['--json', 'send-test-trace', '--endpoint', receiver.url, '--protocol', 'http/json', '--count', '120', '--concurrency', '3']);
    expect(run.exitCode, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout) as { ok: boolean; tracesSent: number; spansSent: number; exports: number; failedExports: number; latencyMs: { p50: number; p99: number }; spansPerSecond: number };
    expect(doc).toMatchObject({ ok: true, tracesSent: 120, spansSent: 120 * SPANS_PER_TRACE, failedExports: 0 });
    expect(receiver.spans).toHaveLength(120 * SPANS_PER_TRACE);
    expect(new Set(receiver.spans.map((s) => s.traceId)).size).toBe(120);
    // 512-span batches: 34 traces of 15 spans per request.
    expect(doc.exports).toBe(Math.ceil(120 / 34));
    expect(doc.latencyMs.p99).toBeGreaterThanOrEqual(doc.latencyMs.p50);
    expect(doc.spansPerSecond).toBeGreaterThan(0);
  });

  it('--rate paces the traces: each due trace goes out on its own at a low rate', async () => {
    const receiver = await jsonReceiver();
    // 200 ms between traces: an export slowed by a busy CI machine must not make two traces due at once.
    const run = await runCli(['--json', 'send-test-trace', '--endpoint', receiver.url, '--protocol', 'http/json', '--count', '4', '--rate', '5']);
    expect(run.exitCode, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout) as { exports: number; tracesSent: number };
    expect(doc).toMatchObject({ exports: 4, tracesSent: 4 });
  });

  it('Ctrl-C stops sending, waits for the exports in flight, prints the summary and exits 130', async () => {
    const receiver = await jsonReceiver();
    const child = execa('node', [BIN, 'send-test-trace', '--endpoint', receiver.url, '--protocol', 'http/json', '--count', '1000', '--rate', '10'], {
      env: cleanEnv(),
      extendEnv: false,
      reject: false,
    });
    while (receiver.spans.length === 0 && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 50));
    child.kill('SIGINT');
    const run = await child;
    expect(run.exitCode, String(run.stderr)).toBe(130);
    const sentTraces = new Set(receiver.spans.map((s) => s.traceId)).size;
    expect(sentTraces).toBeLessThan(1000);
    expect(run.stdout).toMatch(new RegExp(`sent\\s+${sentTraces}/1000 traces, ${sentTraces * SPANS_PER_TRACE} spans`));
    expect(run.stderr).toContain(`Interrupted after ${sentTraces} of 1000 traces.`);
  });

  it('failures are counted by cause and end with exit 1', async () => {
    const receiver = await grpcReceiver({ error: { code: grpc.status.RESOURCE_EXHAUSTED, details: 'memory limiter' } });
    const run = await send('--endpoint', receiver.url, '--count', '40');
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/sent\s+0\/40 traces/);
    expect(run.stdout).toContain('2× The receiver is out of resources: RESOURCE_EXHAUSTED (8): memory limiter.');
    expect(run.stderr).toContain('2 of 2 export requests failed (600 spans not delivered)');
    expect(run.stderr).not.toMatch(/\r/); // no progress line without a terminal
  });
});

describe('send-test-trace: flag values are checked before anything is sent (exit 2)', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--protocol', 'thrift'], /--protocol must be one of grpc, http\/protobuf, http\/json/],
    [['--timeout', '0'], /--timeout takes a number of seconds/],
    [['--wait', 'soon'], /--wait takes a number of seconds/],
    [['--count', '0'], /--count must be a whole number from 1/],
    [['--rate', '-1'], /--rate must be a number from 0/],
    [['--concurrency', '1000'], /--concurrency must be a whole number from 1 to 256/],
    [['--header', 'novalue'], /--header takes key=value/],
    [['--header', 'Authorization: Bearer abc='], /--header: a header name is not valid gRPC metadata [^\n]*-bin\)\.$/m],
    [['--attribute', '=x'], /--attribute takes key=value/],
    [['--jaeger-url', 'localhost:16686'], /--jaeger-url must be an http:\/\/ or https:\/\/ URL/],
    [['--prometheus-url', 'not a url'], /--prometheus-url must be a URL/],
    [['--service', ' '], /--service must not be empty/],
    [['--endpoint', 'http://[bad'], /--endpoint: "http:\/\/\[bad" is not a valid URL/],
    [['--count', '10', '--wait', '5'], /--wait cannot be used in load mode/],
    [['--dir', '/nonexistent/stack'], /--dir \/nonexistent\/stack: there is no stack manifest/],
  ];
  // One receiver for all cases, which run concurrently: none of them may reach it.
  let receiver: Awaited<ReturnType<typeof grpcReceiver>>;
  beforeAll(async () => {
    receiver = await grpcReceiver({ response: Buffer.alloc(0) }, afterAllStops);
  });
  for (const [args, message] of cases) {
    it.concurrent(args.join(' '), async () => {
      const run = await send('--endpoint', receiver.url, ...args);
      expect(run.stderr).toMatch(message);
      expect(run.exitCode, run.stderr).toBe(2);
      expect(receiver.exports()).toBe(0);
    });
  }
});
