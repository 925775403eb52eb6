/**
 * OTLP/gRPC receiver: TraceService, MetricsService and LogsService Export on one @grpc/grpc-js server.
 * Messages arrive as raw bytes and are decoded here, so a malformed one is answered the way Go gRPC
 * answers it for the collector (INTERNAL "grpc: error unmarshalling request: ...") and counted.
 * Oversized messages get RESOURCE_EXHAUSTED from grpc-js itself; gzip-compressed ones are decompressed by it.
 */
import type * as Grpc from '@grpc/grpc-js';
import { decodeRequest, encodeResponse, MalformedRequestError } from './otlp.js';
import { otlpTypes, type Signal } from './proto.js';
import type { Receiver } from './receiver.js';

export interface GrpcReceiver {
  port: number;
  close(): void;
}

const SIGNALS: readonly Signal[] = ['traces', 'metrics', 'logs'];

/** Binds the gRPC server; rejects with the bind error (its message names EADDRINUSE / EACCES). */
export async function startGrpcReceiver(receiver: Receiver, host: string, port: number, maxRequestBytes: number): Promise<GrpcReceiver> {
  const grpc: typeof Grpc = await import('@grpc/grpc-js');
  // grpc-js logs bind failures itself; up --local reports them as a clear error instead.
  grpc.setLogVerbosity(grpc.logVerbosity.NONE);
  const server = new grpc.Server({
    'grpc.max_receive_message_length': maxRequestBytes,
    'grpc.max_send_message_length': 4 * 1024 * 1024,
  });
  const identity = (bytes: Buffer) => bytes;
  for (const signal of SIGNALS) {
    const definition: Grpc.ServiceDefinition = {
      Export: {
        path: otlpTypes().signals[signal].grpcPath,
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    };
    const Export: Grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
      let response: Buffer;
      try {
        response = encodeResponse(signal, 'protobuf', receiver.export(signal, decodeRequest(signal, call.request, 'protobuf'), 'grpc'));
      } catch (error) {
        const details =
          error instanceof MalformedRequestError
            ? `grpc: error unmarshalling request: ${error.message}`
            : `up --local could not handle the request: ${(error as Error).message}`;
        receiver.refused({ transport: 'grpc', signal, status: 'INTERNAL', reason: details });
        callback({ code: grpc.status.INTERNAL, details });
        return;
      }
      callback(null, response);
    };
    server.addService(definition, { Export });
  }
  const boundPort = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  return { port: boundPort, close: () => server.forceShutdown() };
}
