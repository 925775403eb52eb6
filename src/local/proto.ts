/**
 * The OTLP protobuf types, loaded with protobufjs from the .proto files in data/proto (written from the
 * OTLP specification, see data/README.md). Loaded once per process, only when `up --local` runs.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { packageFile } from '../package-files.js';

/** data/ of the installed package. */
export const DATA_DIR = fileURLToPath(packageFile('data/'));
const PROTO_DIR = path.join(DATA_DIR, 'proto');

export type Signal = 'traces' | 'metrics' | 'logs';

export interface SignalTypes {
  request: protobuf.Type;
  response: protobuf.Type;
  /** gRPC method path, e.g. /opentelemetry.proto.collector.trace.v1.TraceService/Export. */
  grpcPath: string;
}

export interface OtlpTypes {
  signals: Record<Signal, SignalTypes>;
  /** google.rpc.Status: the body of an OTLP/HTTP error. */
  status: protobuf.Type;
}

const SERVICES: Record<Signal, { dir: string; name: string }> = {
  traces: { dir: 'trace', name: 'Trace' },
  metrics: { dir: 'metrics', name: 'Metrics' },
  logs: { dir: 'logs', name: 'Logs' },
};

let loaded: OtlpTypes | undefined;

export function otlpTypes(): OtlpTypes {
  if (loaded) return loaded;
  const root = new protobuf.Root();
  // Imports are written relative to the proto root (opentelemetry/proto/...), as upstream does.
  root.resolvePath = (_origin, target) => path.join(PROTO_DIR, target);
  const files = Object.values(SERVICES).map(({ dir }) => `opentelemetry/proto/collector/${dir}/v1/${dir}_service.proto`);
  root.loadSync([...files, 'google/rpc/status.proto']);
  root.resolveAll();
  const signal = (key: Signal): SignalTypes => {
    const { dir, name } = SERVICES[key];
    const pkg = `opentelemetry.proto.collector.${dir}.v1`;
    return {
      request: root.lookupType(`${pkg}.Export${name}ServiceRequest`),
      response: root.lookupType(`${pkg}.Export${name}ServiceResponse`),
      grpcPath: `/${pkg}.${name}Service/Export`,
    };
  };
  loaded = {
    signals: { traces: signal('traces'), metrics: signal('metrics'), logs: signal('logs') },
    status: root.lookupType('google.rpc.Status'),
  };
  return loaded;
}
