/**
 * Probes an OTLP traces endpoint without sending data, step by step (DNS, TCP, TLS or plaintext, protocol),
 * so the failing step can be named. gRPC is spoken directly over node:http2 (an empty Export), so probing
 * never loads @grpc/grpc-js or the OTel SDK. The whole probe is bounded by one timeout.
 */
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import {
  decodeGrpcMessage,
  describeGrpcStatus,
  describeHttpStatus,
  describeNetworkError,
  foreignProtocolFailure,
  noAnswerFailure,
  protocolMismatchFailure,
  type FailureContext,
  type OtlpFailure,
} from './failures.js';
import { rememberSecrets } from '../output/redact.js';
import { credentialsSent, type OtlpProtocol, type OtlpTraceSettings } from './settings.js';
import { portOf } from './url.js';

export const TRACE_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

export interface ProbeTarget {
  /** gRPC: scheme://host:port. OTLP/HTTP: the full traces URL. */
  url: string;
  protocol: OtlpProtocol;
  tls: boolean;
  headers?: Record<string, string>;
  timeoutMs: number;
  /** PEM file of the CA that signed the endpoint's certificate (OTEL_EXPORTER_OTLP_CERTIFICATE). */
  certificateFile?: string;
  /** PEM files of a client certificate and its key, for endpoints that require mutual TLS. */
  clientCertificateFile?: string;
  clientKeyFile?: string;
}

/** The TLS material a connection presents: the CA to trust and, for mutual TLS, a client certificate. */
interface TlsFiles {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export type ProbeStepName = 'dns' | 'tcp' | 'tls' | 'protocol' | 'export';

export interface ProbeStep {
  name: ProbeStepName;
  ok: boolean;
  ms: number;
  detail: string;
}

export interface ProbeResult {
  ok: boolean;
  steps: ProbeStep[];
  failure?: OtlpFailure;
  /** gRPC status of the empty Export, when one was answered. */
  grpcStatus?: number;
  /** HTTP status of the empty POST, when one was answered. */
  httpStatus?: number;
  /** OTLP/HTTP: status of `GET <traces path>` (405 proves the route exists). */
  routeStatus?: number;
}

class StepFailed extends Error {
  constructor(readonly failure: OtlpFailure) {
    super(failure.cause);
  }
}

/** What answered on the port, judged from the first bytes it sent back. */
type Greeting =
  | { kind: 'http2' }
  | { kind: 'http1'; status: number }
  | { kind: 'tls' }
  | { kind: 'closed' }
  | { kind: 'silent' }
  /** Bytes that are neither HTTP nor TLS (an SSH banner, a mail server's greeting). */
  | { kind: 'foreign'; banner: string };

const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** An empty SETTINGS frame: length 0, type 4, flags 0, stream 0. */
const EMPTY_SETTINGS_FRAME = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
/** A gRPC message frame holding an empty ExportTraceServiceRequest: not compressed, length 0. */
const EMPTY_GRPC_MESSAGE = Buffer.alloc(5);

export async function probeOtlp(target: ProbeTarget): Promise<ProbeResult> {
  const deadline = Date.now() + target.timeoutMs;
  const remaining = () => Math.max(1, deadline - Date.now());
  // What it sends (header values, URL userinfo) is removed from what the peer says back, and from all output.
  rememberSecrets(credentialsSent(target.url, target.headers ?? {}));
  const ctx: FailureContext = { url: target.url, protocol: target.protocol, timeoutMs: target.timeoutMs };
  const steps: ProbeStep[] = [];
  const result: ProbeResult = { ok: false, steps };

  const run = async <T>(name: ProbeStepName, action: () => Promise<{ value: T; detail: string }>): Promise<T> => {
    const started = Date.now();
    try {
      const { value, detail } = await action();
      steps.push({ name, ok: true, ms: Date.now() - started, detail });
      return value;
    } catch (error) {
      const failure = error instanceof StepFailed ? error.failure : describeNetworkError(error as NodeJS.ErrnoException, ctx);
      steps.push({ name, ok: false, ms: Date.now() - started, detail: failure.cause });
      throw new StepFailed(failure);
    }
  };

  try {
    let url: URL;
    try {
      url = new URL(target.url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    } catch {
      throw new StepFailed({ kind: 'invalid-endpoint', retryable: false, cause: `"${target.url}" is not an http:// or https:// URL.`, fix: 'Give a URL such as http://localhost:4317 (gRPC) or http://localhost:4318 (OTLP/HTTP).' });
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = portOf(url);
    const files = await readTlsFiles(target);

    const address = await run('dns', async () => {
      if (net.isIP(host)) return { value: host, detail: `${host} is an IP address` };
      const found = await withTimeout(lookup(host), remaining(), () => new StepFailed(describeNetworkError({ code: 'EAI_AGAIN', message: 'DNS lookup timed out' }, ctx)));
      return { value: found.address, detail: `${host} -> ${found.address}` };
    });

    await run('tcp', async () => {
      const socket = await connectTcp(address, port, remaining(), ctx);
      socket.destroy();
      return { value: undefined, detail: `connected to ${address}:${port}` };
    });

    if (target.tls) {
      await run('tls', async () => {
        const alpn = await tlsHandshake(address, port, host, target.protocol === 'grpc' ? ['h2'] : ['http/1.1'], files, remaining(), ctx);
        // Without h2 in ALPN the server speaks HTTP/1.1 over TLS (an HTTPS or OTLP/HTTP port), not gRPC.
        if (target.protocol === 'grpc' && alpn !== 'h2') throw new StepFailed(protocolMismatchFailure('http1-on-grpc-port', ctx));
        return { value: undefined, detail: `TLS handshake done${alpn ? ` (ALPN ${alpn})` : ''}` };
      });
    } else {
      await run('protocol', async () => {
        let greeting: Greeting;
        try {
          greeting = await sniff(address, port, target, url, remaining());
        } catch (error) {
          if (!['ECONNRESET', 'EPIPE'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
          greeting = { kind: 'closed' };
        }
        // Many TLS servers (grpc-go, Node) hang up on plaintext without a word: ask in TLS before calling it a reset.
        if (greeting.kind === 'closed' && (await speaksTls(address, port, remaining()))) greeting = { kind: 'tls' };
        // An HTTP/1.1 server (Python's http.server) may answer the HTTP/2 preface and reset before we read
        // the answer: ask it a plain HTTP/1.1 question.
        if (greeting.kind === 'closed' && target.protocol === 'grpc') {
          const answer = await sniff(address, port, { ...target, protocol: 'http/protobuf' }, new URL('/', url), remaining()).catch(() => undefined);
          if (answer?.kind === 'http1') greeting = answer;
        }
        return { value: undefined, detail: judgeGreeting(greeting, target, ctx, result) };
      });
    }

    if (target.protocol === 'grpc') {
      await run('export', async () => {
        const { status, message } = await grpcEmptyExport(url, target, files, remaining(), ctx);
        result.grpcStatus = status;
        if (status !== 0) throw new StepFailed(describeGrpcStatus(status, message, ctx));
        return { value: undefined, detail: 'an empty Export was answered OK' };
      });
    } else {
      await run('export', async () => {
        if (target.tls) result.routeStatus = (await httpRequest(url, 'GET', target, undefined, files, remaining(), ctx)).status;
        const body = target.protocol === 'http/json' ? Buffer.from('{}') : Buffer.alloc(0);
        const answer = await httpRequest(url, 'POST', target, body, files, remaining(), ctx);
        result.httpStatus = answer.status;
        if (answer.status !== 200) throw new StepFailed(describeHttpStatus(answer.status, ctx, answer.body));
        const route = result.routeStatus === 405 ? '; GET answered 405, so the traces route exists' : '';
        return { value: undefined, detail: `an empty ${target.protocol === 'http/json' ? 'JSON' : 'protobuf'} POST was answered 200${route}` };
      });
    }
    result.ok = true;
  } catch (error) {
    if (!(error instanceof StepFailed)) throw error;
    result.failure = error.failure;
  }
  return result;
}

/** What a probe of these settings connects to and sends, bounded by `timeoutMs` in all. */
export function probeTargetOf(settings: OtlpTraceSettings, timeoutMs: number): ProbeTarget {
  return {
    url: settings.url.value,
    protocol: settings.protocol.value,
    tls: settings.tls.value,
    headers: settings.headers.value,
    timeoutMs,
    ...(settings.certificateFile ? { certificateFile: settings.certificateFile.value } : {}),
    ...(settings.clientCertificateFile ? { clientCertificateFile: settings.clientCertificateFile.value } : {}),
    ...(settings.clientKeyFile ? { clientKeyFile: settings.clientKeyFile.value } : {}),
  };
}

/** Failures that say only that time ran out: a probe with a short budget proves nothing more by them. */
const TIMEOUT_KINDS: ReadonlySet<OtlpFailure['kind']> = new Set(['no-answer', 'connect-timeout']);

/** Failures that are the receiver's own answer to our request: probing again would only repeat it. */
const ANSWERED_KINDS: ReadonlySet<OtlpFailure['kind']> = new Set(['partial-success', 'http-status']);

/**
 * One explanation of why OTLP data does not arrive, for every command: after an export failed, doctor's
 * probe looks at the endpoint step by step and its cause (in doctor's words) replaces the exporter's
 * guess. The export's own description stands when the probe passes (the endpoint is fine but refused
 * this payload) or only ran out of time, for a timed-out export (the probe would only wait again), and
 * for an HTTP status or partial success (the receiver's own answer).
 */
export async function explainExportFailure(failure: OtlpFailure, settings: OtlpTraceSettings, budgetMs: number): Promise<OtlpFailure> {
  if (ANSWERED_KINDS.has(failure.kind) || TIMEOUT_KINDS.has(failure.kind)) return failure;
  const probe = await probeOtlp(probeTargetOf(settings, budgetMs));
  return probe.failure && !TIMEOUT_KINDS.has(probe.failure.kind) ? probe.failure : failure;
}

/** Reads the PEM files the target names; a file that cannot be read fails the probe before it connects. */
async function readTlsFiles(target: ProbeTarget): Promise<TlsFiles> {
  const files: TlsFiles = {};
  for (const [key, file, variable] of [
    ['ca', target.certificateFile, 'OTEL_EXPORTER_OTLP_CERTIFICATE'],
    ['cert', target.clientCertificateFile, 'OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE'],
    ['key', target.clientKeyFile, 'OTEL_EXPORTER_OTLP_CLIENT_KEY'],
  ] as const) {
    if (!file) continue;
    try {
      files[key] = await readFile(file);
    } catch (error) {
      throw new StepFailed({ kind: 'certificate', retryable: false, cause: `Cannot read ${file} (${variable}): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, fix: `Point ${variable} at a readable PEM file.` });
    }
  }
  return files;
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function connectTcp(host: string, port: number, timeoutMs: number, ctx: FailureContext): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new StepFailed(describeNetworkError({ code: 'ETIMEDOUT' }, ctx)));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function tlsHandshake(host: string, port: number, servername: string, alpn: string[], files: TlsFiles, timeoutMs: number, ctx: FailureContext): Promise<string | false> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, servername: net.isIP(servername) ? undefined : servername, ALPNProtocols: alpn, ...files });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new StepFailed(noAnswerFailure(ctx, 'The TLS handshake got no answer')));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const protocol = socket.alpnProtocol ?? false;
      socket.destroy();
      resolve(protocol);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      // A plaintext server answers the ClientHello with bytes that are not a TLS record.
      reject(/wrong version number|packet length too long|unknown protocol/i.test(error.message) ? new StepFailed(describeNetworkError({ code: 'ERR_SSL_WRONG_VERSION_NUMBER', message: error.message }, ctx)) : error);
    });
  });
}

/** Whether the port completes a TLS handshake (any certificate): tells a TLS server that hung up on plaintext. */
function speaksTls(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'] });
    const done = (answer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Sends the opening a client of this protocol would send and reads what comes back. */
function sniff(host: string, port: number, target: ProbeTarget, url: URL, timeoutMs: number): Promise<Greeting> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (greeting: Greeting | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (greeting instanceof Error) reject(greeting);
      else resolve(greeting);
    };
    const timer = setTimeout(() => finish(classify(received) ?? { kind: 'silent' }), timeoutMs);
    socket.once('connect', () => {
      if (target.protocol === 'grpc') {
        socket.write(Buffer.concat([HTTP2_PREFACE, EMPTY_SETTINGS_FRAME]));
      } else {
        const headers = Object.entries(target.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
        socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n${headers}\r\n`);
      }
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const greeting = classify(received);
      if (greeting) finish(greeting);
    });
    socket.once('end', () => finish(classify(received) ?? (received.length > 0 ? foreign(received) : { kind: 'closed' })));
    socket.once('error', (error) => finish(received.length > 0 ? (classify(received) ?? error) : error));
  });
}

function classify(bytes: Buffer): Greeting | undefined {
  if (bytes.length < 2) return undefined;
  // A TLS record (alert 0x15 or handshake 0x16) with major version 3.
  if ((bytes[0] === 0x15 || bytes[0] === 0x16) && bytes[1] === 0x03) return { kind: 'tls' };
  if (bytes.subarray(0, 5).toString('latin1') === 'HTTP/') {
    // Go's and nginx's TLS servers answer plaintext with a 400 that says so.
    if (/HTTP request to an HTTPS server|plain HTTP request was sent to HTTPS port/i.test(bytes.toString('latin1'))) return { kind: 'tls' };
    const line = bytes.toString('latin1').split('\r\n')[0] ?? '';
    if (!bytes.includes('\r\n')) return undefined;
    return { kind: 'http1', status: Number(line.split(' ')[1]) || 0 };
  }
  // An HTML page without a status line: an HTTP/1 server answering the HTTP/2 preface the HTTP/0.9 way
  // (Python's http.server sends its "Error code: 505" page like that).
  if (/^\s*<(!doctype|html|head|body|\?xml)/i.test(bytes.subarray(0, 32).toString('latin1'))) {
    return { kind: 'http1', status: Number(/Error code: (\d{3})/.exec(bytes.toString('latin1'))?.[1] ?? 0) };
  }
  // An HTTP/2 frame header: 24-bit length, then type SETTINGS (4) or GOAWAY (7).
  if (bytes.length >= 9 && (bytes[3] === 0x04 || bytes[3] === 0x07)) return { kind: 'http2' };
  if (bytes.length >= 9) return foreign(bytes);
  return undefined;
}

function foreign(bytes: Buffer): Greeting {
  return { kind: 'foreign', banner: bytes.subarray(0, 80).toString('latin1').split(/\r?\n/)[0] ?? '' };
}

function judgeGreeting(greeting: Greeting, target: ProbeTarget, ctx: FailureContext, result: ProbeResult): string {
  const grpc = target.protocol === 'grpc';
  switch (greeting.kind) {
    case 'tls':
      throw new StepFailed(protocolMismatchFailure('plaintext-to-tls', ctx));
    case 'silent':
      throw new StepFailed(noAnswerFailure(ctx, `The server did not answer a${grpc ? 'n HTTP/2 preface' : 'n HTTP request'}`));
    case 'closed':
      throw new StepFailed(describeNetworkError({ code: 'ECONNRESET' }, ctx));
    case 'foreign':
      throw new StepFailed(foreignProtocolFailure(greeting.banner, ctx));
    case 'http1':
      if (grpc) throw new StepFailed(protocolMismatchFailure('http1-on-grpc-port', ctx));
      result.routeStatus = greeting.status;
      return `plaintext HTTP/1.1; GET answered ${greeting.status}${greeting.status === 405 ? ' (the traces route exists)' : ''}`;
    case 'http2':
      if (!grpc) throw new StepFailed(protocolMismatchFailure('grpc-on-http-port', ctx));
      return 'plaintext HTTP/2 (gRPC transport)';
  }
}

function grpcEmptyExport(url: URL, target: ProbeTarget, files: TlsFiles, timeoutMs: number, ctx: FailureContext): Promise<{ status: number; message: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url.origin, files);
    let done = false;
    const finish = (value: { status: number; message: string } | Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      session.destroy();
      if (value instanceof Error) reject(value);
      else resolve(value);
    };
    const timer = setTimeout(() => finish(new StepFailed(noAnswerFailure(ctx, 'The empty Export got no answer'))), timeoutMs);
    session.on('error', (error) => finish(error));
    const lowerHeaders = Object.fromEntries(Object.entries(target.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const stream = session.request({
      ':method': 'POST',
      ':path': TRACE_EXPORT_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...lowerHeaders,
    });
    let headers: http2.IncomingHttpHeaders = {};
    stream.on('response', (responseHeaders) => {
      headers = responseHeaders;
      const httpStatus = Number(responseHeaders[':status']);
      // A trailers-only gRPC answer carries grpc-status in the headers.
      if (responseHeaders['grpc-status'] !== undefined) {
        finish({ status: Number(responseHeaders['grpc-status']), message: grpcMessage(responseHeaders['grpc-message']) });
      } else if (httpStatus !== 200) {
        finish(new StepFailed(describeHttpStatus(httpStatus, ctx)));
      } else if (!String(responseHeaders['content-type'] ?? '').startsWith('application/grpc')) {
        finish(new StepFailed(protocolMismatchFailure('not-grpc', ctx)));
      }
    });
    stream.on('trailers', (trailers) => {
      finish({ status: Number(trailers['grpc-status'] ?? 2), message: grpcMessage(trailers['grpc-message']) });
    });
    stream.on('data', () => undefined);
    stream.on('end', () => {
      if (headers['grpc-status'] === undefined) finish({ status: 2, message: 'the server closed the stream without a grpc-status' });
    });
    stream.on('error', (error) => finish(error));
    stream.end(EMPTY_GRPC_MESSAGE);
  });
}

function grpcMessage(value: string | string[] | undefined): string {
  return decodeGrpcMessage(Array.isArray(value) ? value.join(', ') : (value ?? ''));
}

function httpRequest(url: URL, method: 'GET' | 'POST', target: ProbeTarget, body: Buffer | undefined, files: TlsFiles, timeoutMs: number, ctx: FailureContext): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const contentType = target.protocol === 'http/json' ? 'application/json' : 'application/x-protobuf';
    const request = client.request(url, {
      method,
      headers: { ...(target.headers ?? {}), ...(body ? { 'content-type': contentType, 'content-length': String(body.length) } : {}) },
      ...files,
      agent: false,
    });
    const timer = setTimeout(() => {
      request.destroy();
      reject(new StepFailed(noAnswerFailure(ctx, `${method} ${url.pathname} got no answer`)));
    }, timeoutMs);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.length < 16 && chunks.push(chunk));
      response.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        // Text bodies say why (escaped and stripped of our header values when printed); protobuf bodies do not.
        resolve({ status: response.statusCode ?? 0, body: /[\u0000\ufffd]/.test(text) ? '' : text });
      });
    });
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end(body);
  });
}
