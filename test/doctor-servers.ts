/**
 * Loopback servers that misbehave the way real OTLP endpoints do, for doctor's end-to-end tests. Each
 * listens on 127.0.0.1 port 0 and is stopped by `stopAll()` (call it in afterEach/afterAll).
 */
import * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

const stops: Array<() => Promise<void>> = [];

export async function stopAll(): Promise<void> {
  await Promise.all(stops.splice(0).map((stop) => stop()));
}

/** Listens on 127.0.0.1 port 0; `stopAll()` closes the server and every connection it took. */
export function track(server: net.Server): Promise<number> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  server.on('secureConnection', (socket: net.Socket) => socket.on('error', () => undefined));
  stops.push(
    () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

/** A port nothing listens on (bound, then closed). */
export async function refusingPort(): Promise<number> {
  const server = net.createServer();
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Accepts connections and never sends a byte (a hung process, a blackhole behind a proxy). */
export function silentServer(): Promise<number> {
  return track(net.createServer(() => undefined));
}

/** Accepts, then resets each connection as soon as the client sends anything. */
export function resettingServer(): Promise<number> {
  return track(net.createServer((socket) => socket.once('data', () => socket.resetAndDestroy())));
}

/** A plain HTTP/1.1 server answering every request with `status`. */
export function http1Server(status = 200): Promise<number> {
  return track(http.createServer((req, res) => req.resume().on('end', () => res.writeHead(status).end('not OTLP'))));
}

export interface OtlpHttpOptions {
  /** Status for POST /v1/traces. */
  status: number;
  /** Answer 401 unless this header value is sent as `authorization`. */
  requireAuthorization?: string;
  tls?: TlsFiles;
}

/** An OTLP/HTTP receiver: GET /v1/traces -> 405, POST /v1/traces -> `status`, other paths -> 404. */
export function otlpHttpServer(options: OtlpHttpOptions): Promise<number> {
  const handler: http.RequestListener = (req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url !== '/v1/traces') return res.writeHead(404).end('404 page not found');
      if (req.method !== 'POST') return res.writeHead(405).end('405 method not allowed, supported: [POST]');
      if (options.requireAuthorization !== undefined && req.headers.authorization !== options.requireAuthorization) return res.writeHead(401).end('missing credentials');
      if (options.status === 200) return res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      res.writeHead(options.status).end(`status ${options.status}`);
    });
  };
  return track(options.tls ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, handler) : http.createServer(handler));
}

/** Plaintext HTTP/2 (what a gRPC port speaks), without gRPC. */
export function http2Server(): Promise<number> {
  const server = http2.createServer();
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200 });
    stream.end();
  });
  return track(server);
}

/** A bare TLS server (any protocol); `alpn: []` negotiates no application protocol, like an older HTTPS proxy. */
export function tlsServer(files: TlsFiles, alpn = ['h2', 'http/1.1']): Promise<number> {
  return track(tls.createServer({ key: files.key, cert: files.cert, ALPNProtocols: alpn }, (socket) => socket.on('error', () => undefined)));
}

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const passthrough = (buffer: Buffer) => buffer;

export interface GrpcOptions {
  /** gRPC status the Export answers (0 = OK). */
  code: number;
  /** Answer UNAUTHENTICATED unless `authorization` metadata equals this. */
  requireAuthorization?: string;
  tls?: TlsFiles;
  /** Serve no trace service at all (Export answers UNIMPLEMENTED, like a non-OTLP gRPC server). */
  noTraceService?: boolean;
}

/** A real gRPC server (@grpc/grpc-js) whose TraceService/Export answers `code`. */
export async function grpcServer(options: GrpcOptions): Promise<number> {
  const server = new grpc.Server();
  if (!options.noTraceService) {
    server.addService(
      { Export: { path: EXPORT_PATH, requestStream: false, responseStream: false, requestSerialize: passthrough, requestDeserialize: passthrough, responseSerialize: passthrough, responseDeserialize: passthrough, originalName: 'export' } },
      {
        Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
          if (options.requireAuthorization !== undefined && call.metadata.get('authorization')[0] !== options.requireAuthorization) {
            return callback({ code: grpc.status.UNAUTHENTICATED, details: 'missing or wrong authorization' });
          }
          if (options.code === 0) return callback(null, Buffer.alloc(0));
          callback({ code: options.code, details: `answering ${options.code}` });
        },
      },
    );
  }
  const credentials = options.tls ? grpc.ServerCredentials.createSsl(null, [{ private_key: options.tls.key, cert_chain: options.tls.cert }]) : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound))));
  stops.push(() => new Promise((resolve) => server.tryShutdown(() => resolve())));
  return port;
}

export interface TlsFiles {
  key: Buffer;
  cert: Buffer;
  certFile: string;
  cleanup: () => void;
}

/** A self-signed certificate for localhost and 127.0.0.1, made with openssl at test time. */
export function selfSignedCertificate(): TlsFiles {
  const dir = mkdtempSync(path.join(tmpdir(), 'loom-otel-cert-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  return { key: readFileSync(keyFile), cert: readFileSync(certFile), certFile, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface FakeTarget {
  job: string;
  health: 'up' | 'down' | 'unknown';
  lastError?: string;
}

/** Prometheus as doctor sees it: /-/ready and /api/v1/targets with the given targets. */
export function fakePrometheus(targets: FakeTarget[]): Promise<number> {
  return track(
    http.createServer((req, res) => {
      req.resume();
      if (req.url === '/-/ready') return res.writeHead(200).end('Prometheus Server is Ready.\n');
      if (req.url?.startsWith('/api/v1/targets')) {
        const activeTargets = targets.map((t) => ({ labels: { job: t.job }, scrapeUrl: `http://${t.job}:8889/metrics`, health: t.health, lastError: t.lastError ?? '' }));
        return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data: { activeTargets, droppedTargets: [] } }));
      }
      res.writeHead(404).end();
    }),
  );
}

export interface FakeGrafanaOptions {
  /** The admin password it accepts (read lazily: init writes it after the server starts). */
  password: () => string | undefined;
  /** What each datasource's health check says. */
  datasourceStatus: 'OK' | 'ERROR';
}

/** Grafana as doctor sees it: /api/health open, /api/datasources and their health behind basic auth. */
export function fakeGrafana(options: FakeGrafanaOptions): Promise<number> {
  const datasources = [
    { uid: 'loom-prometheus', name: 'Prometheus', type: 'prometheus' },
    { uid: 'loom-jaeger', name: 'Jaeger', type: 'jaeger' },
  ];
  return track(
    http.createServer((req, res) => {
      req.resume();
      const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url === '/api/health') return json(200, { database: 'ok', version: '12.2.1' });
      const expected = `Basic ${Buffer.from(`admin:${options.password() ?? ''}`).toString('base64')}`;
      if (req.headers.authorization !== expected) return json(401, { message: 'Unauthorized' });
      if (req.url === '/api/datasources') return json(200, datasources);
      const health = /^\/api\/datasources\/uid\/([^/]+)\/health$/.exec(req.url ?? '');
      if (health) {
        return options.datasourceStatus === 'OK'
          ? json(200, { status: 'OK', message: 'Successfully queried the datasource.' })
          : json(400, { status: 'ERROR', message: 'dial tcp: lookup prometheus: no such host' });
      }
      json(404, { message: 'Not found' });
    }),
  );
}
