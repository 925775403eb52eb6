/**
 * OTLP/HTTP receiver: POST /v1/traces, /v1/metrics, /v1/logs with application/x-protobuf or
 * application/json, optionally gzip or deflate compressed. Answers the way the collector's otlpreceiver
 * does: 200 with an Export response in the request's encoding, 405 for other methods, 415 for other
 * content types, 404 for other paths, 400 (with a google.rpc.Status body) for bodies that cannot be
 * decoded, and 413 for bodies over the size limit.
 */
import type http from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { decodeRequest, encodeResponse, encodeStatus, MalformedRequestError, RpcCode, type Encoding } from './otlp.js';
import type { Signal } from './proto.js';
import type { Receiver } from './receiver.js';

export const OTLP_HTTP_PATHS: Readonly<Record<string, Signal>> = { '/v1/traces': 'traces', '/v1/metrics': 'metrics', '/v1/logs': 'logs' };

const CONTENT_TYPES: Readonly<Record<string, Encoding>> = { 'application/x-protobuf': 'protobuf', 'application/json': 'json' };
const RESPONSE_TYPES: Readonly<Record<Encoding, string>> = { protobuf: 'application/x-protobuf', json: 'application/json' };

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);

/** Thrown when a body (as sent, or decompressed) is over the limit. */
class TooLargeError extends Error {}
/** Thrown when the bodies being received at once would hold more than IN_FLIGHT_REQUESTS requests' worth. */
class BusyError extends Error {}

/**
 * Bodies being received at once hold at most this many times --max-request-mib: many connections each
 * uploading a large body cannot add up past it. Over it, a request is read to its end without being
 * kept and answered 503 with Retry-After, which OTLP exporters retry.
 */
export const IN_FLIGHT_REQUESTS = 4;

/** Bytes held by bodies still being received, shared by every request of one receiver. */
class InFlightBytes {
  private held = 0;
  constructor(readonly max: number) {}
  take(bytes: number): boolean {
    if (this.held + bytes > this.max) return false;
    this.held += bytes;
    return true;
  }
  give(bytes: number): void {
    this.held -= bytes;
  }
}
/** The client went away before its body was complete (it gave up, or up --local is stopping). */
class ClientGoneError extends Error {}

function send(res: http.ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** The media type without parameters, lowercased (`application/json; charset=utf-8` -> `application/json`). */
function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Reads the body up to maxBytes. Past that it keeps reading and discarding until the client has sent
 * everything, then rejects with TooLargeError: answering while the client still writes would reset the
 * connection, and the client would see a broken pipe instead of the 413.
 */
function readBody(req: http.IncomingMessage, maxBytes: number, inFlight: InFlightBytes): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let held = 0;
    let busy = false;
    const release = () => {
      inFlight.give(held);
      held = 0;
      chunks.length = 0;
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes || busy) return release();
      if (!inFlight.take(chunk.length)) {
        busy = true;
        return release();
      }
      held += chunk.length;
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > maxBytes) reject(new TooLargeError());
      else if (busy) reject(new BusyError());
      else {
        const body = Buffer.concat(chunks, size);
        release();
        resolve(body);
      }
    });
    req.on('error', (error) => {
      release();
      reject(new ClientGoneError(error.message));
    });
  });
}

async function decompress(body: Buffer, contentEncoding: string, maxBytes: number): Promise<Buffer> {
  try {
    if (contentEncoding === 'gzip') return await gunzip(body, { maxOutputLength: maxBytes });
    if (contentEncoding === 'deflate') return await inflate(body, { maxOutputLength: maxBytes });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new TooLargeError();
    throw new MalformedRequestError(`cannot decompress the ${contentEncoding} body: ${(error as Error).message}`);
  }
  return body;
}

const SUPPORTED_ENCODINGS = new Set(['', 'identity', 'gzip', 'deflate']);

export function otlpHttpHandler(receiver: Receiver, maxRequestBytes: number): http.RequestListener {
  const limitText = `${maxRequestBytes / (1024 * 1024)} MiB`;
  const inFlight = new InFlightBytes(IN_FLIGHT_REQUESTS * maxRequestBytes);
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const signal = OTLP_HTTP_PATHS[path];
    const refuse = (status: number, reason: string, contentType: string, body: string | Buffer) => {
      receiver.refused({ transport: 'http', ...(signal ? { signal } : {}), status, reason });
      send(res, status, contentType, body);
    };
    if (!signal) {
      send(res, 404, 'text/plain; charset=utf-8', '404 page not found\n');
      return;
    }
    if (req.method !== 'POST') {
      // No exporter sends anything but POST: this is a probe of the route (doctor's GET), not a refused export.
      send(res, 405, 'text/plain', '405 method not allowed, supported: [POST]');
      return;
    }
    const encoding = CONTENT_TYPES[mediaType(req.headers['content-type'])];
    if (!encoding) {
      refuse(415, `Content-Type ${req.headers['content-type'] ?? '(none)'}`, 'text/plain', '415 unsupported media type, supported: [application/json, application/x-protobuf]');
      return;
    }
    const status = (httpStatus: number, code: number, message: string) =>
      refuse(httpStatus, message, RESPONSE_TYPES[encoding], encodeStatus(encoding, code, message));

    const contentEncoding = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
    if (!SUPPORTED_ENCODINGS.has(contentEncoding)) {
      status(400, RpcCode.InvalidArgument, `unsupported Content-Encoding: ${contentEncoding}`);
      return;
    }
    const tooLarge = () => status(413, RpcCode.Unknown, `request body too large: the limit is ${limitText} (up --local --max-request-mib)`);

    readBody(req, maxRequestBytes, inFlight)
      .then((raw) => decompress(raw, contentEncoding, maxRequestBytes))
      .then((body) => {
        const request = decodeRequest(signal, body, encoding);
        const partial = receiver.export(signal, request, 'http');
        send(res, 200, RESPONSE_TYPES[encoding], encodeResponse(signal, encoding, partial));
      })
      .catch((error: unknown) => {
        // Nobody is left to answer, and nothing was refused.
        if (res.headersSent || error instanceof ClientGoneError) return;
        if (error instanceof TooLargeError) tooLarge();
        else if (error instanceof BusyError) {
          res.setHeader('Retry-After', '1');
          status(503, RpcCode.Unavailable, `up --local is receiving ${IN_FLIGHT_REQUESTS} x --max-request-mib (${limitText}) of request bodies at once: retry`);
        }
        else if (error instanceof MalformedRequestError) status(400, RpcCode.InvalidArgument, error.message);
        else status(500, RpcCode.Unknown, `up --local could not handle the request: ${(error as Error).message}`);
      });
  };
}
