/**
 * Delivers finished spans through the official OTel JS OTLP exporter for the resolved protocol and reads
 * the result of every export call: the SDK's BatchSpanProcessor would hide failures, so we call
 * `exporter.export(spans, callback)` ourselves.
 *
 * Partial success: the exporters answer SUCCESS and only log the receiver's `partial_success` through
 * the OTel diagnostic logger (`diag.warn('Received Partial Success response:', json)`), for gRPC and HTTP
 * alike. We install a diag logger that catches that line; the exporter logs it synchronously just before
 * it calls the export callback, so the rejection is attributed to the export that received it.
 *
 * HTTP statuses: when a retryable status (429/502/503/504) persists past the retries, the exporter
 * reports only "Export failed with retryable status". The status code is read from Node's
 * `http.client.response.finish` diagnostics channel for requests to the traces URL.
 */
import { readFile } from 'node:fs/promises';
import diagnosticsChannel from 'node:diagnostics_channel';
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { DiagLogLevel, diag } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ActionError } from '../errors.js';
import { describeExportError, describeHttpStatus, noAnswerFailure, partialSuccessFailure, type FailureContext, type OtlpFailure } from '../otlp/failures.js';
import type { OtlpTraceSettings } from '../otlp/settings.js';

export interface ExportOutcome {
  ok: boolean;
  spans: number;
  /** Wall time of the export call, milliseconds. */
  ms: number;
  /** Spans the receiver rejected in a partial success (0 when all were accepted). */
  rejectedSpans: number;
  /** The receiver's partial-success message (also sent with 0 rejected spans, as a warning). */
  receiverMessage?: string;
  failure?: OtlpFailure;
}

export interface SpanDelivery {
  send(spans: ReadableSpan[]): Promise<ExportOutcome>;
  shutdown(): Promise<void>;
}

interface PartialSuccess {
  rejectedSpans: number;
  errorMessage?: string;
}

/** The exporter's own timer usually fires first and says more; ours is the backstop. */
const DEADLINE_GRACE_MS = 100;
const SHUTDOWN_WAIT_MS = 1_000;

const PARTIAL_SUCCESS_LOG = 'Received Partial Success response:';

/** Reads a partial success out of the exporter's diag log arguments. */
export function parsePartialSuccessLog(args: unknown[]): PartialSuccess | undefined {
  const at = args.findIndex((arg) => typeof arg === 'string' && arg.includes(PARTIAL_SUCCESS_LOG));
  if (at === -1) return undefined;
  const inline = String(args[at]).slice(String(args[at]).indexOf(PARTIAL_SUCCESS_LOG) + PARTIAL_SUCCESS_LOG.length).trim();
  const text = inline || String(args[at + 1] ?? '');
  try {
    const parsed = JSON.parse(text) as { rejectedSpans?: number | string; errorMessage?: string };
    const rejectedSpans = Number(parsed.rejectedSpans ?? 0);
    return {
      rejectedSpans: Number.isFinite(rejectedSpans) ? rejectedSpans : 0,
      ...(parsed.errorMessage ? { errorMessage: parsed.errorMessage } : {}),
    };
  } catch {
    return undefined;
  }
}

async function readPem(setting: { value: string; source: string } | undefined): Promise<Buffer | undefined> {
  if (!setting) return undefined;
  try {
    return await readFile(setting.value);
  } catch (error) {
    const variable = setting.source.replace(/^env /, '');
    throw new ActionError(`Cannot read ${setting.value} (${variable}): ${(error as Error).message}`, `Point ${variable} at a readable PEM file.`);
  }
}

/**
 * The exporters read OTEL_EXPORTER_OTLP_* themselves when constructed and merge what they find (headers we
 * dropped as unsendable, a generic header beside a traces-specific list) into our settings. Hide those
 * variables while one is built, so it sends exactly what the settings say and what we print.
 */
function withoutOtlpVariables<T>(build: () => T): T {
  const hidden = Object.entries(process.env).filter(([name]) => name.startsWith('OTEL_EXPORTER_OTLP_'));
  for (const [name] of hidden) delete process.env[name];
  try {
    return build();
  } finally {
    for (const [name, value] of hidden) process.env[name] = value;
  }
}

/**
 * The OTLP/HTTP exporter bounds a request only by idle time, so a peer that trickles a byte a second keeps
 * it open for ever. We hand it agents we can destroy: that ends every request in flight at the deadline.
 */
interface AbortableAgents {
  factory: (protocol: string) => http.Agent;
  destroyAll(): void;
}

function abortableAgents(options: https.AgentOptions): AbortableAgents {
  const agents: http.Agent[] = [];
  return {
    factory: (protocol) => {
      const { ca: _ca, cert: _cert, key: _key, ...plain } = options;
      const agent = protocol === 'http:' ? new http.Agent(plain) : new https.Agent(options);
      agents.push(agent);
      return agent;
    },
    destroyAll: () => agents.forEach((agent) => agent.destroy()),
  };
}

interface Pems {
  ca: Buffer | undefined;
  key: Buffer | undefined;
  cert: Buffer | undefined;
}

async function createExporter(settings: OtlpTraceSettings, concurrency: number, { ca, key, cert }: Pems, agents: AbortableAgents): Promise<SpanExporter> {
  const common = {
    url: settings.url.value,
    timeoutMillis: settings.timeoutMs.value,
    // The exporter refuses exports beyond its limit; leave room for every parallel request.
    concurrencyLimit: concurrency + 1,
  };
  const compression = settings.compression.value as never;
  if (settings.protocol.value === 'grpc') {
    const [{ OTLPTraceExporter }, grpc] = await Promise.all([import('@opentelemetry/exporter-trace-otlp-grpc'), import('@grpc/grpc-js')]);
    const metadata = new grpc.Metadata();
    for (const [name, value] of Object.entries(settings.headers.value)) metadata.set(name, value);
    const credentials = settings.tls.value ? grpc.credentials.createSsl(ca ?? null, key ?? null, cert ?? null) : grpc.credentials.createInsecure();
    return withoutOtlpVariables(() => new OTLPTraceExporter({ ...common, metadata, credentials, compression }));
  }
  const options = {
    ...common,
    headers: { ...settings.headers.value },
    compression,
    httpAgentOptions: agents.factory,
  };
  if (settings.protocol.value === 'http/protobuf') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
    return withoutOtlpVariables(() => new OTLPTraceExporter(options));
  }
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  return withoutOtlpVariables(() => new OTLPTraceExporter(options));
}

interface ResponseFinish {
  request: ClientRequest;
  response: IncomingMessage;
}

export async function createSpanDelivery(settings: OtlpTraceSettings, options: { concurrency?: number } = {}): Promise<SpanDelivery> {
  const [ca, key, cert] = await Promise.all([readPem(settings.certificateFile), readPem(settings.clientKeyFile), readPem(settings.clientCertificateFile)]);
  const agents = abortableAgents({ keepAlive: true, ...(ca ? { ca } : {}), ...(key ? { key } : {}), ...(cert ? { cert } : {}) });
  const exporter = await createExporter(settings, options.concurrency ?? 1, { ca, key, cert }, agents);
  const timeoutMs = settings.timeoutMs.value;
  const context: FailureContext = { url: settings.url.value, protocol: settings.protocol.value, timeoutMs };

  let partial: PartialSuccess | undefined;
  diag.setLogger(
    {
      error: () => {},
      warn: (...args: unknown[]) => {
        partial = parsePartialSuccessLog(args) ?? partial;
      },
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );

  let lastHttpStatus: number | undefined;
  const tracesUrl = new URL(settings.url.value);
  const onResponse = (message: unknown) => {
    const { request, response } = message as ResponseFinish;
    if (request.host === tracesUrl.hostname.replace(/^\[|\]$/g, '') && request.path === tracesUrl.pathname + tracesUrl.search && response.statusCode) {
      lastHttpStatus = response.statusCode;
    }
  };
  const isHttp = settings.protocol.value !== 'grpc';
  if (isHttp) diagnosticsChannel.subscribe('http.client.response.finish', onResponse);

  const describe = (error: unknown): OtlpFailure => {
    const code = (error as { code?: unknown } | undefined)?.code;
    if (isHttp && code === undefined && lastHttpStatus !== undefined && lastHttpStatus >= 300) {
      return describeHttpStatus(lastHttpStatus, context);
    }
    return describeExportError(error, context);
  };

  return {
    send: (spans) =>
      new Promise((resolve) => {
        const started = performance.now();
        let settled = false;
        // The overall deadline of this export, whatever the peer does: connects, trickles, never answers.
        const deadline = setTimeout(() => {
          settled = true;
          agents.destroyAll();
          resolve({ ok: false, spans: spans.length, ms: performance.now() - started, rejectedSpans: 0, failure: noAnswerFailure(context, 'The export got no complete answer') });
        }, timeoutMs + DEADLINE_GRACE_MS);
        exporter.export(spans, (result) => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          const ms = performance.now() - started;
          const received = partial;
          partial = undefined;
          if (result.code === ExportResultCode.SUCCESS) {
            resolve({
              ok: !received || received.rejectedSpans === 0,
              spans: spans.length,
              ms,
              rejectedSpans: received?.rejectedSpans ?? 0,
              ...(received?.errorMessage ? { receiverMessage: received.errorMessage } : {}),
            });
          } else {
            resolve({ ok: false, spans: spans.length, ms, rejectedSpans: 0, failure: describe(result.error) });
          }
        });
      }),
    shutdown: async () => {
      if (isHttp) diagnosticsChannel.unsubscribe('http.client.response.finish', onResponse);
      // An export abandoned at its deadline may still be pending inside the exporter: do not wait for it.
      agents.destroyAll();
      await Promise.race([exporter.shutdown(), sleep(SHUTDOWN_WAIT_MS, undefined, { ref: false })]);
      diag.disable();
    },
  };
}

/** Spans the receiver rejected, described like any other failed export. */
export function rejectionFailure(outcome: ExportOutcome): OtlpFailure {
  return partialSuccessFailure(outcome.rejectedSpans, outcome.spans, outcome.receiverMessage);
}
