/**
 * One vocabulary for why OTLP data does not arrive: every probe (`doctor`, `up`) and every export
 * (`send-test-trace`) describes its failure through here, so the user reads the same cause and fix
 * whichever command found it.
 */
import { redact } from '../output/redact.js';
import type { OtlpProtocol } from './settings.js';
import { portOf } from './url.js';

export type OtlpFailureKind =
  | 'invalid-endpoint'
  | 'dns'
  | 'refused'
  | 'connect-timeout'
  | 'no-answer'
  | 'reset'
  | 'tls-to-plaintext'
  | 'plaintext-to-tls'
  | 'certificate'
  | 'http1-on-grpc-port'
  | 'grpc-on-http-port'
  | 'not-grpc'
  | 'foreign-protocol'
  | 'grpc-status'
  | 'http-status'
  | 'partial-success'
  | 'other';

export interface OtlpFailure {
  kind: OtlpFailureKind;
  /** What went wrong, in one sentence. */
  cause: string;
  /** What to change, in one sentence. */
  fix: string;
  grpcCode?: number;
  httpStatus?: number;
  /** Retrying later may succeed (the OTLP spec's retryable statuses, timeouts). */
  retryable: boolean;
}

/** What the failure is about: the URL we tried and how. */
export interface FailureContext {
  url: string;
  protocol: OtlpProtocol;
  timeoutMs?: number;
}

/** At most this much of what a peer said goes into a message. */
const MAX_PEER_TEXT = 200;

/**
 * What a peer said (a response body, a gRPC status message), fit for a one-line message: whitespace
 * collapsed, our header values removed, shortened. Control characters are escaped at the output boundary.
 */
export function peerText(text: string): string {
  // Before it is shortened: a credential cut in two would no longer be found whole.
  const line = redact(text.replace(/\s+/g, ' ').trim());
  return line.length > MAX_PEER_TEXT ? `${line.slice(0, MAX_PEER_TEXT - 1)}…` : line;
}

/** gRPC sends grpc-message percent-encoded; what we show is the text the server meant. */
export function decodeGrpcMessage(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export const GRPC_STATUS_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** gRPC codes the OTLP specification says to retry. */
const RETRYABLE_GRPC = new Set([1, 4, 10, 11, 14, 15]);
/** HTTP statuses the OTLP specification says to retry. */
const RETRYABLE_HTTP = new Set([429, 502, 503, 504]);

export function grpcStatusName(code: number): string {
  return GRPC_STATUS_NAMES[code] ?? `status ${code}`;
}

function portIn(url: string): string {
  try {
    return String(portOf(new URL(url)));
  } catch {
    return '?';
  }
}

const otherPortHint = (ctx: FailureContext) =>
  ctx.protocol === 'grpc'
    ? 'OTLP/gRPC is usually port 4317'
    : 'OTLP/HTTP is usually port 4318';

export function describeGrpcStatus(code: number, message: string, ctx: FailureContext): OtlpFailure {
  const name = grpcStatusName(code);
  const text = peerText(message);
  const said = text ? `: ${text}` : '';
  const base = { kind: 'grpc-status' as const, grpcCode: code, retryable: RETRYABLE_GRPC.has(code) };
  switch (code) {
    case 16:
      return { ...base, cause: `The endpoint refused the export: UNAUTHENTICATED (16)${said}.`, fix: 'Set the credentials it expects, e.g. OTEL_EXPORTER_OTLP_HEADERS="authorization=Bearer%20<token>".' };
    case 7:
      return { ...base, cause: `The endpoint refused the export: PERMISSION_DENIED (7)${said}.`, fix: 'The credentials were read but do not allow writing traces: check the token or API key in OTEL_EXPORTER_OTLP_HEADERS.' };
    case 12:
      return { ...base, cause: `A gRPC server answered but has no OTLP trace service: UNIMPLEMENTED (12)${said}.`, fix: `This port is not an OTLP receiver: point the endpoint at the collector's OTLP/gRPC port (${otherPortHint(ctx)}).` };
    case 14:
      return { ...base, cause: `The endpoint is unavailable: UNAVAILABLE (14)${said}.`, fix: 'The receiver is overloaded, starting or shutting down: check its health and logs, then retry.' };
    case 4:
      return { ...base, cause: `No answer in time: DEADLINE_EXCEEDED (4)${said}.`, fix: 'Check that the endpoint is reachable and not overloaded, or raise OTEL_EXPORTER_OTLP_TIMEOUT (milliseconds).' };
    case 8:
      return { ...base, cause: `The receiver is out of resources: RESOURCE_EXHAUSTED (8)${said}.`, fix: "Lower the export rate or batch size, or give the collector more memory (memory_limiter)." };
    case 3:
      return { ...base, cause: `The receiver rejected the data as invalid: INVALID_ARGUMENT (3)${said}.`, fix: 'The payload is malformed for this receiver: check that the exporter and receiver speak the same OTLP version.' };
    default:
      return { ...base, cause: `The endpoint answered ${name} (${code})${said}.`, fix: base.retryable ? 'A transient failure: retry, and check the receiver\'s logs if it persists.' : "Check the receiver's logs for why it rejected the export." };
  }
}

export function describeHttpStatus(status: number, ctx: FailureContext, body = ''): OtlpFailure {
  const base = { kind: 'http-status' as const, httpStatus: status, retryable: RETRYABLE_HTTP.has(status) };
  const text = peerText(body);
  const detail = text ? ` (${text})` : '';
  let path = '';
  try {
    path = new URL(ctx.url).pathname;
  } catch {
    // leave path empty: the message still names the status
  }
  switch (status) {
    case 401:
      return { ...base, cause: `The endpoint answered 401 Unauthorized${detail}: credentials are missing.`, fix: 'Set OTEL_EXPORTER_OTLP_HEADERS with the header the backend expects (e.g. authorization=Bearer%20<token>).' };
    case 403:
      return { ...base, cause: `The endpoint answered 403 Forbidden${detail}: the credentials do not allow writing traces.`, fix: 'Check the token or API key in OTEL_EXPORTER_OTLP_HEADERS.' };
    case 404: {
      const doubled = (path.match(/\/v1\/traces/g) ?? []).length > 1;
      return {
        ...base,
        cause: `The endpoint answered 404 Not Found for ${path || ctx.url}${doubled ? ': the traces path appears twice' : ''}.`,
        fix: doubled
          ? 'OTEL_EXPORTER_OTLP_ENDPOINT is a base URL (e.g. http://localhost:4318): remove /v1/traces from it, or put the full URL in OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.'
          : 'The traces path is /v1/traces on the OTLP/HTTP port (4318): check the endpoint URL.',
      };
    }
    case 405:
      return { ...base, cause: `The endpoint answered 405 Method Not Allowed to POST ${path}.`, fix: 'This is not an OTLP/HTTP receiver: check the endpoint URL and port (OTLP/HTTP is usually 4318).' };
    case 413:
      return { ...base, cause: 'The endpoint answered 413: the request is too large.', fix: 'Lower the batch size (OTEL_BSP_MAX_EXPORT_BATCH_SIZE) or raise the receiver\'s max_request_body_size.' };
    case 415:
      return { ...base, cause: 'The endpoint answered 415 Unsupported Media Type.', fix: 'Use OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf or http/json; the receiver accepts application/x-protobuf and application/json.' };
    case 429:
    case 502:
    case 503:
    case 504:
      return { ...base, cause: `The endpoint answered ${status}${detail}: it is unavailable or throttling.`, fix: 'The receiver (or a proxy in front of it) is overloaded, starting or down: check its health, then retry.' };
    default:
      return { ...base, cause: `The endpoint answered HTTP ${status}${detail}.`, fix: status >= 500 ? "A server-side failure: check the receiver's logs." : 'Check the endpoint URL, headers and protocol.' };
  }
}

/** Network-level failures, from a Node error code (errno) or an OpenSSL reason. */
export function describeNetworkError(error: { code?: string; message?: string }, ctx: FailureContext): OtlpFailure {
  const code = error.code ?? '';
  const message = error.message ?? '';
  const host = hostOf(ctx.url);
  if (code === 'ECONNREFUSED') {
    return { kind: 'refused', retryable: true, cause: `Nothing is listening on ${host} (connection refused).`, fix: `Start the collector (\`loom-otel up\`, or \`loom-otel up --local\`), or point the endpoint at the port it listens on (${otherPortHint(ctx)}).` };
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return { kind: 'dns', retryable: code === 'EAI_AGAIN', cause: `The host name in ${ctx.url} does not resolve (${code}).`, fix: 'Check the host name; a compose service name such as otel-collector resolves only inside the compose network: use localhost on the host.' };
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return { kind: 'reset', retryable: true, cause: `${host} accepted the connection, then reset it.`, fix: 'With Docker, the container behind this published port is not listening on 0.0.0.0 inside it (collector receivers default to localhost since v0.104) or has stopped; otherwise a proxy, firewall or non-OTLP process drops the connection: check what listens there.' };
  }
  if (code === 'ETIMEDOUT' || code === 'ECONNECT_TIMEOUT') {
    return { kind: 'connect-timeout', retryable: true, cause: `No connection to ${host} within ${ctx.timeoutMs ?? '?'} ms: packets are dropped (firewall, wrong address, or the host is down).`, fix: 'Check the address and any firewall between here and the endpoint.' };
  }
  if (/wrong version number|packet length too long|ERR_SSL_WRONG_VERSION_NUMBER/i.test(`${code} ${message}`)) {
    return { kind: 'tls-to-plaintext', retryable: false, cause: `TLS was used but ${host} speaks plaintext.`, fix: `Use http:// in the endpoint (e.g. http://${host}), or set OTEL_EXPORTER_OTLP_INSECURE=true for an endpoint without a scheme.` };
  }
  if (/no application protocol/i.test(`${code} ${message}`)) {
    // The TLS server refused every protocol offered in ALPN: h2 for gRPC, http/1.1 for OTLP/HTTP.
    return protocolMismatchFailure(ctx.protocol === 'grpc' ? 'http1-on-grpc-port' : 'grpc-on-http-port', ctx);
  }
  if (ctx.protocol !== 'grpc' && /^HPE_|Parse Error/.test(`${code} ${message}`.trim())) {
    // Node's HTTP/1 parser choked on the answer: an HTTP/2-only (gRPC) port.
    return protocolMismatchFailure('grpc-on-http-port', ctx);
  }
  if (/CERT|self[- ]signed|unable to verify|UNABLE_TO_GET_ISSUER|altname/i.test(`${code} ${message}`)) {
    return { kind: 'certificate', retryable: false, cause: `The TLS certificate of ${host} is not trusted (${code || message}).`, fix: 'Point OTEL_EXPORTER_OTLP_CERTIFICATE at the CA certificate (PEM) that signed it, or fix the host name in the endpoint.' };
  }
  return { kind: 'other', retryable: false, cause: `Connecting to ${host} failed: ${code ? `${code} ` : ''}${message}`.trim(), fix: 'Check the endpoint URL and that the receiver is running.' };
}

/** The receiver took the export but rejected some spans (OTLP partial success: not retried, worth reporting). */
export function partialSuccessFailure(rejectedSpans: number, totalSpans: number, receiverMessage?: string): OtlpFailure {
  const said = receiverMessage ? `: ${receiverMessage}` : '';
  return {
    kind: 'partial-success',
    retryable: false,
    cause: `The receiver accepted the export but rejected ${rejectedSpans} of ${totalSpans} spans (partial success)${said}.`,
    fix: "The receiver's message says why (a limit, an invalid attribute, a full queue): check its configuration and logs.",
  };
}

export function noAnswerFailure(ctx: FailureContext, what: string): OtlpFailure {
  return {
    kind: 'no-answer',
    retryable: true,
    cause: `${what} within ${ctx.timeoutMs ?? '?'} ms: the port accepts connections but nothing answers.`,
    fix: 'The process on this port is hung or is not an OTLP receiver; check what listens there and its logs.',
  };
}

/** Something answered that speaks neither HTTP nor TLS: `banner` is the start of what it sent. */
export function foreignProtocolFailure(banner: string, ctx: FailureContext): OtlpFailure {
  const host = hostOf(ctx.url);
  const said = peerText(banner).slice(0, 60);
  const known = /^SSH-/.test(banner) ? ': an SSH server' : /^\+OK|^\* OK|^220[ -]/.test(banner) ? ': a mail or FTP server' : '';
  return {
    kind: 'foreign-protocol',
    retryable: false,
    cause: `${host} is not an OTLP receiver: it speaks neither HTTP nor TLS (it sent "${said}"${known}).`,
    fix: `Another program owns this port: point the endpoint at the collector's OTLP port (${otherPortHint(ctx)}).`,
  };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

export function protocolMismatchFailure(kind: 'http1-on-grpc-port' | 'grpc-on-http-port' | 'plaintext-to-tls' | 'not-grpc', ctx: FailureContext): OtlpFailure {
  const host = hostOf(ctx.url);
  switch (kind) {
    case 'http1-on-grpc-port':
      return { kind, retryable: false, cause: `${host} is an HTTP/1.1 server, not gRPC (HTTP/2).`, fix: `This is an HTTP port (OTLP/HTTP is 4318): use OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf with it, or point gRPC at port 4317.` };
    case 'grpc-on-http-port':
      return { kind, retryable: false, cause: `${host} speaks HTTP/2 only (gRPC), not OTLP/HTTP.`, fix: 'This is the gRPC port (4317): set OTEL_EXPORTER_OTLP_PROTOCOL=grpc, or point OTLP/HTTP at port 4318.' };
    case 'plaintext-to-tls':
      return { kind, retryable: false, cause: `Plaintext was used but ${host} speaks TLS.`, fix: `Use https:// in the endpoint (https://${host}), and OTEL_EXPORTER_OTLP_CERTIFICATE if its certificate is self-signed.` };
    case 'not-grpc':
      return { kind, retryable: false, cause: `${host} answered over HTTP/2, but not as a gRPC server.`, fix: `Check that port ${portIn(ctx.url)} is the collector's OTLP/gRPC port (usually 4317).` };
  }
}

/**
 * Describes an error from an OTel JS exporter's export callback (`{ code, error }` with code FAILED).
 * gRPC exporter errors carry a numeric gRPC `code`; HTTP exporter errors carry the HTTP status as `code`
 * (OTLPExporterError) or a Node errno on network failures.
 */
export function describeExportError(error: unknown, ctx: FailureContext): OtlpFailure {
  const err = (error ?? {}) as { code?: unknown; message?: string; data?: string; details?: string };
  const message = err.message ?? String(error);
  const errno = /\b(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EPIPE)\b/.exec(message)?.[1];
  if (typeof err.code === 'string') return describeNetworkError({ code: err.code, message }, ctx);
  if (errno) return describeNetworkError({ code: errno, message }, ctx);
  if (/wrong version number|packet length too long|no application protocol/i.test(message)) return describeNetworkError({ message }, ctx);
  if (/certificate|self[- ]signed|unable to verify/i.test(message)) return describeNetworkError({ message }, ctx);
  if (ctx.protocol === 'grpc') {
    if (/Protocol error/i.test(message)) return protocolMismatchFailure('http1-on-grpc-port', ctx);
    const code = typeof err.code === 'number' ? err.code : undefined;
    if (code === 4 || /deadline|timeout/i.test(message)) {
      return noAnswerFailure(ctx, 'The export got no answer');
    }
    if (code !== undefined) return describeGrpcStatus(code, decodeGrpcMessage(err.details ?? stripGrpcPrefix(message)), ctx);
  } else {
    if (typeof err.code === 'number' && err.code >= 100) return describeHttpStatus(err.code, ctx, err.data ?? '');
    if (/timeout|timed out|aborted/i.test(message)) return noAnswerFailure(ctx, 'The export got no answer');
    if (/Parse Error|HPE_/i.test(message)) return describeNetworkError({ message }, ctx);
  }
  return { kind: 'other', retryable: false, cause: `The export failed: ${peerText(message)}`, fix: 'Run `loom-otel doctor` to check the endpoint step by step.' };
}

function stripGrpcPrefix(message: string): string {
  return message.replace(/^\d+ [A-Z_]+: /, '');
}
