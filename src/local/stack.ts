/**
 * Starts the embedded stack of `up --local` in this process: OTLP/gRPC and OTLP/HTTP receivers, the
 * Jaeger query API + trace viewer, the span metrics exposition and the health check, each on its own
 * port like the Docker stack. A port that cannot be bound stops everything already started and throws an
 * ActionError naming the port and the flag that moves it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ActionError } from '../errors.js';
import { limitConnections, loopbackHostAllowed, type ConnectionLimit } from './connections.js';
import type { FieldLimits } from './field-limits.js';
import { LOCAL_PORT_ROLES, PORT_FLAGS, type LocalPortRole } from '../stack/model.js';
import { healthHandler, metricsHandler } from './collector-endpoints.js';
import { jaegerHandler } from './jaeger-http.js';
import { otlpHttpHandler } from './otlp-http.js';
import { startGrpcReceiver } from './otlp-grpc.js';
import { otlpTypes } from './proto.js';
import { Receiver } from './receiver.js';

/** The roles the local stack serves (Prometheus and Grafana are not part of it). */

export const LOCAL_PORT_NAMES: Readonly<Record<LocalPortRole, string>> = {
  otlpGrpc: 'OTLP/gRPC',
  otlpHttp: 'OTLP/HTTP',
  jaegerUi: 'Jaeger query API + trace viewer',
  collectorMetrics: 'span metrics (Prometheus)',
  collectorHealth: 'health check',
};

export interface LocalStackConfig {
  /** 127.0.0.1, or 0.0.0.0 with --expose. */
  host: string;
  /** 0 = any free port. */
  ports: Record<LocalPortRole, number>;
  maxTraces: number;
  maxRequestBytes: number;
  /** --max-memory-mib in bytes: the budget of everything kept. */
  maxMemoryBytes: number;
  limits: FieldLimits;
  /** Open connections per listening port; past it the idlest is closed. */
  maxConnections: number;
  deploymentEnvironment: string;
}

export interface LocalStack {
  receiver: Receiver;
  /** The ports actually bound. */
  ports: Record<LocalPortRole, number>;
  /** Connections closed to admit new ones, per port. */
  connections: Record<LocalPortRole, ConnectionLimit>;
  startedAt: Date;
  close(): Promise<void>;
}

function portError(role: LocalPortRole, port: number, host: string, error: Error): ActionError {
  const code = (error as NodeJS.ErrnoException).code ?? (/EADDRINUSE|EACCES|EADDRNOTAVAIL/.exec(error.message)?.[0] ?? '');
  const what = `port ${port} (${LOCAL_PORT_NAMES[role]})`;
  const flag = `${PORT_FLAGS[role]} <port>`;
  if (code === 'EADDRINUSE') {
    return new ActionError(
      `Cannot listen on ${host}:${port}: ${what} is already in use.`,
      `Stop what uses it (the Docker stack? \`loom-otel down\`), or choose another port with ${flag} (0 picks a free one).`,
    );
  }
  if (code === 'EACCES') {
    return new ActionError(`Cannot listen on ${host}:${port}: ${what} needs privileges.`, `Choose a port above 1023 with ${flag}.`);
  }
  return new ActionError(`Cannot listen on ${host}:${port} for ${LOCAL_PORT_NAMES[role]}: ${error.message}`, `Choose another port with ${flag}.`);
}

/**
 * A request target no URL can be made of is the client's fault (400); a handler bug answers 500. Neither
 * takes the process down. On loopback, a Host that is not a loopback address is refused (403): that is
 * a web page reaching in through DNS rebinding. With --expose every machine may read anyway.
 */
function guarded(handler: http.RequestListener, checkHost: boolean): http.RequestListener {
  return (req, res) => {
    if (!URL.canParse(req.url ?? '/', 'http://localhost')) {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('malformed request target\n');
      return;
    }
    if (checkHost && !loopbackHostAllowed(req.headers.host)) {
      res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('up --local answers only requests for localhost or an IP address (DNS rebinding protection)\n');
      return;
    }
    try {
      handler(req, res);
    } catch (error) {
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(`up --local could not handle the request: ${(error as Error).message}\n`);
      } else {
        res.destroy();
      }
    }
  };
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function startLocalStack(config: LocalStackConfig): Promise<LocalStack> {
  otlpTypes(); // load the .proto files before binding: a broken install fails before any port opens
  const receiver = new Receiver({
    maxTraces: config.maxTraces,
    maxMemoryBytes: config.maxMemoryBytes,
    limits: config.limits,
    deploymentEnvironment: config.deploymentEnvironment,
  });
  const startedAt = new Date();
  const handlers: Record<Exclude<LocalPortRole, 'otlpGrpc'>, http.RequestListener> = {
    otlpHttp: otlpHttpHandler(receiver, config.maxRequestBytes),
    jaegerUi: jaegerHandler(receiver.store),
    collectorMetrics: metricsHandler(receiver.spanMetrics, receiver.tokenSums),
    collectorHealth: healthHandler(startedAt),
  };
  const servers: http.Server[] = [];
  let grpcClose: (() => void) | undefined;
  const closeAll = async () => {
    grpcClose?.();
    await Promise.all(servers.map(closeServer));
  };
  const ports = {} as Record<LocalPortRole, number>;
  const connections = {} as Record<LocalPortRole, ConnectionLimit>;
  const loopback = config.host === '127.0.0.1';
  for (const role of LOCAL_PORT_ROLES) {
    const port = config.ports[role];
    try {
      if (role === 'otlpGrpc') {
        const grpc = await startGrpcReceiver(receiver, config.host, port, config.maxRequestBytes, config.maxConnections);
        grpcClose = grpc.close;
        ports[role] = grpc.port;
        connections[role] = grpc.connections;
      } else {
        // headersTimeout bounds a peer that trickles its request line and headers; requestTimeout one that
        // stalls its body, which would otherwise hold the shared in-flight budget for Node's default 300 s.
        const server = http.createServer({ keepAliveTimeout: 30_000, headersTimeout: 30_000, requestTimeout: 30_000 }, guarded(handlers[role], loopback));
        connections[role] = limitConnections(server, config.maxConnections);
        ports[role] = await listen(server, config.host, port);
        servers.push(server);
      }
    } catch (error) {
      await closeAll();
      throw portError(role, port, config.host, error as Error);
    }
  }
  return { receiver, ports, connections, startedAt, close: closeAll };
}
