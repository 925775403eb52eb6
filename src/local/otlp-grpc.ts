/**
 * OTLP/gRPC receiver: TraceService, MetricsService and LogsService Export on one @grpc/grpc-js server.
 * Messages arrive as raw bytes and are decoded here, so a malformed one is answered the way Go gRPC
 * answers it for the collector (INTERNAL "grpc: error unmarshalling request: ...") and counted.
 * Oversized messages get RESOURCE_EXHAUSTED from grpc-js itself; gzip-compressed ones are decompressed by it.
 * The listening socket is ours (net.Server), its connections handed to grpc-js through its connection
 * injector, so the same connection cap as the HTTP ports applies.
 */
import type * as Grpc from '@grpc/grpc-js';
import net from 'node:net';
import { limitConnections, type ConnectionLimit } from './connections.js';
import { decodeRequest, encodeResponse, MalformedRequestError } from './otlp.js';
import { otlpTypes, type Signal } from './proto.js';
import type { Receiver } from './receiver.js';

export interface GrpcReceiver {
  port: number;
  connections: ConnectionLimit;
  close(): void;
}

const SIGNALS: readonly Signal[] = ['traces', 'metrics', 'logs'];

/** Binds the gRPC server; rejects with the bind error (its code is EADDRINUSE / EACCES). */
export async function startGrpcReceiver(
  receiver: Receiver,
  host: string,
  port: number,
  maxRequestBytes: number,
  maxConnections: number,
): Promise<GrpcReceiver> {
  const grpc: typeof Grpc = await import('@grpc/grpc-js');
  // grpc-js logs bind failures itself; up --local reports them as a clear error instead.
  grpc.setLogVerbosity(grpc.logVerbosity.NONE);
  const server = new grpc.Server({
    'grpc.max_receive_message_length': maxRequestBytes,
    'grpc.max_send_message_length': 4 * 1024 * 1024,
  });
  const listener = net.createServer();
  const connections = limitConnections(listener, maxConnections);
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
      connections.touchPeer(call.getPeer());
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
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  // Handed to grpc-js only once the peer sends something: a socket that never does stays a plain socket,
  // which the connection cap can always close (one already taken over by HTTP/2 does not always close
  // on a reset). HTTP/2 reads the bytes already received before its own.
  listener.on('connection', (socket) => {
    socket.once('readable', () => {
      if (!socket.destroyed) injector.injectConnection(socket);
    });
  });
  const boundPort = await new Promise<number>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(port, host, () => {
      listener.off('error', reject);
      resolve((listener.address() as net.AddressInfo).port);
    });
  });
  return {
    port: boundPort,
    connections,
    close: () => {
      listener.close();
      injector.destroy();
      server.forceShutdown();
    },
  };
}
