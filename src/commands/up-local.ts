/**
 * `loom-otel up --local`: the stack without Docker. Parses the flags, starts the embedded stack
 * (src/local), prints where everything listens and each finished trace, and stops cleanly on Ctrl-C or
 * SIGTERM. Imported lazily by up.ts, so gRPC and protobufjs load only here.
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { createOutputContext, type GlobalFlags, type OutputContext } from '../output/context.js';
import { formatDuration, renderWaterfall } from '../output/waterfall.js';
import { FinishedTraces } from '../local/finished-traces.js';
import { DEFAULT_MAX_REQUEST_MIB, DEFAULT_MAX_TRACES } from '../local/limits.js';
import { jaegerTraceId, serviceName } from '../local/jaeger.js';
import { SPAN_KIND_NAMES, valueAsJson, type StoredSpan } from '../local/model.js';
import { MAX_SERIES } from '../local/span-metrics.js';
import { LOCAL_PORT_NAMES, startLocalStack, type LocalStack } from '../local/stack.js';
import type { ReceiverEvent } from '../local/receiver.js';
import { findStack, stackDir } from '../stack/manifest.js';
import { buildStackModel, DEFAULT_HOST_PORTS, DEFAULT_OPTIONS, DEPLOYMENT_ENV_VAR, LOCAL_PORT_ROLES, PORT_FLAGS, type LocalPortRole, type StackOptions } from '../stack/model.js';
import { parseInteger } from './parse.js';
import { agentEnvironment, exportLines, formatTable } from './stack-output.js';

/** Rows of one trace printed in the live view; the viewer shows the rest. */
const MAX_TREE_ROWS = 40;

interface LocalSettings {
  host: string;
  ports: Record<LocalPortRole, number>;
  /** The manifest the ports came from, when there was one. */
  manifestPath?: string;
  /** The options recorded in that manifest. */
  stackOptions?: StackOptions;
  maxTraces: number;
  maxRequestMib: number;
  deploymentEnvironment: string;
  quiet: boolean;
}

/** commander's option key for a flag: --otlp-grpc-port -> otlpGrpcPort. */
function optionKey(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function text(value: unknown): string | undefined {
  return value === undefined || value === null || value === false ? undefined : String(value);
}

async function resolveSettings(options: Record<string, unknown>): Promise<LocalSettings> {
  const maxTraces = parseInteger('--max-traces', text(options.maxTraces) ?? String(DEFAULT_MAX_TRACES), 1, 10_000_000);
  const maxRequestMib = parseInteger('--max-request-mib', text(options.maxRequestMib) ?? String(DEFAULT_MAX_REQUEST_MIB), 1, 2048);
  const stack = await findStack(stackDir(text(options.dir)));
  const ports = {} as Record<LocalPortRole, number>;
  for (const role of LOCAL_PORT_ROLES) {
    const flagValue = text(options[optionKey(PORT_FLAGS[role])]);
    ports[role] =
      flagValue !== undefined ? parseInteger(PORT_FLAGS[role], flagValue, 0, 65535) : (stack?.manifest.options.ports[role] ?? DEFAULT_HOST_PORTS[role]);
  }
  for (const [i, a] of LOCAL_PORT_ROLES.entries()) {
    for (const b of LOCAL_PORT_ROLES.slice(i + 1)) {
      if (ports[a] !== 0 && ports[a] === ports[b]) {
        throw new UsageError(
          `${LOCAL_PORT_NAMES[a]} and ${LOCAL_PORT_NAMES[b]} would both use port ${ports[a]}.`,
          `Give ${PORT_FLAGS[a]} and ${PORT_FLAGS[b]} different ports (0 picks a free one).`,
        );
      }
    }
  }
  return {
    host: options.expose ? '0.0.0.0' : '127.0.0.1',
    ports,
    ...(stack ? { manifestPath: stack.manifestPath, stackOptions: stack.manifest.options } : {}),
    maxTraces,
    maxRequestMib,
    deploymentEnvironment: process.env[DEPLOYMENT_ENV_VAR] || stack?.manifest.options.environment || DEFAULT_OPTIONS.environment,
    quiet: Boolean(options.quiet),
  };
}

function urls(ports: Record<LocalPortRole, number>) {
  const base = (port: number) => `http://127.0.0.1:${port}`;
  return {
    otlpGrpc: base(ports.otlpGrpc),
    otlpHttp: base(ports.otlpHttp),
    jaegerUi: base(ports.jaegerUi),
    collectorMetrics: `${base(ports.collectorMetrics)}/metrics`,
    collectorHealth: `${base(ports.collectorHealth)}/`,
  };
}

/** What an agent on this machine exports with: the same variables `up` prints for the Docker stack. */
function localAgentEnvironment(settings: LocalSettings, ports: Record<LocalPortRole, number>): Record<string, string> {
  const options = settings.stackOptions ?? DEFAULT_OPTIONS;
  return agentEnvironment(buildStackModel({ ...options, ports: { ...options.ports, ...ports }, environment: settings.deploymentEnvironment }));
}

function printStartup(ctx: OutputContext, settings: LocalSettings, stack: LocalStack): void {
  const u = urls(stack.ports);
  const env = localAgentEnvironment(settings, stack.ports);
  if (ctx.json) {
    ctx.out(
      JSON.stringify({
        event: 'listening',
        host: settings.host,
        ports: stack.ports,
        urls: u,
        env,
        maxTraces: settings.maxTraces,
        maxRequestMiB: settings.maxRequestMib,
        ...(settings.manifestPath ? { manifest: settings.manifestPath } : {}),
      }),
    );
    return;
  }
  const { style } = ctx;
  const rows: Array<[string, string, string]> = [
    ['OTLP gRPC', u.otlpGrpc, 'TraceService, MetricsService, LogsService'],
    ['OTLP HTTP', u.otlpHttp, '/v1/traces, /v1/metrics, /v1/logs (protobuf or JSON, gzip)'],
    ['Trace viewer', u.jaegerUi, 'Jaeger query API under /api'],
    ['Span metrics', u.collectorMetrics, 'spanmetrics series for Prometheus'],
    ['Health check', u.collectorHealth, 'health_check answer'],
  ];
  ctx.out(`${style.bold('loom-otel up --local')}: the stack in this process, no Docker`);
  ctx.out();
  for (const line of formatTable(rows.map(([name, url, note]) => [name, style.cyan(url), style.dim(note)]))) ctx.out(line);
  ctx.out();
  if (settings.host !== '127.0.0.1') ctx.out(`${style.yellow('!')} Listening on all interfaces (--expose): other machines can send and read traces.`);
  if (settings.manifestPath) ctx.out(style.dim(`Ports from ${settings.manifestPath}; flags override them.`));
  ctx.out('Point an agent at it:');
  for (const line of exportLines(env)) ctx.out(`  ${line}`);
  ctx.out();
  ctx.out(
    style.dim(
      `Keeps the newest ${settings.maxTraces} traces in memory; metrics and logs are accepted and counted, not stored.` +
        `${settings.quiet ? '' : ' Finished traces appear below.'} Ctrl-C stops.`,
    ),
  );
}

const STATUS_NAMES = ['UNSET', 'OK', 'ERROR'] as const;

function spanJson(span: StoredSpan) {
  return {
    event: 'span',
    traceId: span.traceId,
    spanId: span.spanId,
    ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
    service: serviceName(span.resource),
    name: span.name,
    kind: SPAN_KIND_NAMES[span.kind],
    startTimeUs: span.startUs,
    durationUs: span.durationUs,
    status: STATUS_NAMES[span.statusCode],
    ...(span.statusMessage ? { statusMessage: span.statusMessage } : {}),
    attributes: Object.fromEntries(span.attributes.map((a) => [a.key, valueAsJson(a)])),
    events: span.events.map((e) => e.name),
  };
}

function printTrace(ctx: OutputContext, stack: LocalStack, traceId: string): void {
  const trace = stack.receiver.store.get(traceId);
  if (!trace) return; // evicted before it settled
  const { style } = ctx;
  const spans = trace.spans.map((s) => ({
    spanId: s.spanId,
    ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
    service: serviceName(s.resource),
    name: s.name,
    startUs: s.startUs,
    durationUs: s.durationUs,
    error: s.statusCode === 2,
  }));
  const root = trace.spans.find((s) => s.parentSpanId === '') ?? trace.spans[0]!;
  const errors = spans.filter((s) => s.error).length;
  const link = `${urls(stack.ports).jaegerUi}/trace/${jaegerTraceId(traceId)}`;
  ctx.out(
    `${style.bold(root.name)} ${style.dim(serviceName(root.resource))}  ${spans.length} span${spans.length === 1 ? '' : 's'}, ` +
      `${formatDuration(trace.endUs - trace.startUs)}${errors ? `, ${style.red(`${errors} error${errors === 1 ? '' : 's'}`)}` : ''}  ${style.dim(link)}`,
  );
  const lines = renderWaterfall(spans, style);
  for (const line of lines.slice(0, MAX_TREE_ROWS)) ctx.out(`  ${line}`);
  if (lines.length > MAX_TREE_ROWS) ctx.out(style.dim(`  ... ${lines.length - MAX_TREE_ROWS} more spans in the viewer`));
  ctx.out();
}

function printEvent(ctx: OutputContext, event: ReceiverEvent): void {
  if (event.kind === 'spans') return;
  const transport = event.kind === 'partial' ? event.transport : event.request.transport;
  if (ctx.json) {
    ctx.out(JSON.stringify(event.kind === 'partial' ? { event: 'partial-success', transport, refused: event.refused, reason: event.reason } : { event: 'refused', ...event.request }));
    return;
  }
  const what =
    event.kind === 'partial'
      ? `Partial success sent over OTLP/${transport === 'grpc' ? 'gRPC' : 'HTTP'}: ${event.reason}`
      : `Refused an OTLP/${transport === 'grpc' ? 'gRPC' : 'HTTP'} request (${event.request.status}): ${event.request.reason}`;
  ctx.err(`${ctx.style.yellow('!')} ${what}`);
}

function printSummary(ctx: OutputContext, stack: LocalStack): void {
  const { stats, store } = stack.receiver;
  const summary = {
    uptimeMs: Date.now() - stack.startedAt.getTime(),
    spansReceived: stats.spansReceived,
    spansRefused: stats.spansRefused,
    tracesKept: store.traceCount,
    tracesEvicted: store.evicted,
    metricPoints: stats.metricPoints,
    logRecords: stats.logRecords,
    requestsRefused: stats.requestsRefused,
    spansNotInMetrics: stack.receiver.spanMetrics.droppedSpans,
    tokenCountsNotInMetrics: stack.receiver.tokenSums.droppedCounts,
  };
  if (ctx.json) {
    ctx.out(JSON.stringify({ event: 'stopped', ...summary }));
    return;
  }
  ctx.out(
    `Stopped after ${formatDuration(summary.uptimeMs * 1000)}: ${summary.spansReceived} spans received (${summary.spansRefused} refused), ` +
      `${summary.tracesKept} traces kept (${summary.tracesEvicted} evicted), ${summary.metricPoints} metric points, ` +
      `${summary.logRecords} log records, ${summary.requestsRefused} requests refused.`,
  );
  if (summary.spansNotInMetrics > 0) {
    ctx.err(
      `${ctx.style.yellow('!')} ${summary.spansNotInMetrics} spans were left out of the span metrics: they already had ${MAX_SERIES} label sets ` +
        '(span names that carry ids or other unbounded values make a label set each).',
    );
  }
  if (summary.tokenCountsNotInMetrics > 0) {
    ctx.err(`${ctx.style.yellow('!')} ${summary.tokenCountsNotInMetrics} token counts were left out of llm_tokens_total: it already had ${MAX_SERIES} label sets.`);
  }
}

export async function runUpLocal(options: Record<string, unknown>, command: Command): Promise<void> {
  const ctx = createOutputContext(command.optsWithGlobals() as GlobalFlags);
  const settings = await resolveSettings(options);
  const stack = await startLocalStack({
    host: settings.host,
    ports: settings.ports,
    maxTraces: settings.maxTraces,
    maxRequestBytes: settings.maxRequestMib * 1024 * 1024,
    deploymentEnvironment: settings.deploymentEnvironment,
  });
  printStartup(ctx, settings, stack);

  const finished = new FinishedTraces((traceId) => printTrace(ctx, stack, traceId));
  stack.receiver.listen((event) => {
    if (settings.quiet) return;
    if (event.kind !== 'spans') printEvent(ctx, event);
    else if (ctx.json) for (const span of event.spans) ctx.out(JSON.stringify(spanJson(span)));
    else finished.seen(event.spans);
  });
  if (!settings.quiet && !ctx.json) finished.start();

  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await stack.close();
  finished.stop();
  finished.flush();
  if (!ctx.json) ctx.out();
  printSummary(ctx, stack);
}
