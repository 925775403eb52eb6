/**
 * `loom-otel up --local`: the stack without Docker. Parses the flags, starts the embedded stack
 * (src/local), prints where everything listens and each finished trace, and stops cleanly on Ctrl-C or
 * SIGTERM. Imported lazily by up.ts, so gRPC and protobufjs load only here.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { ActionError, UsageError } from '../errors.js';
import { httpGet } from '../checks/health.js';
import { createOutputContext, type GlobalFlags, type OutputContext } from '../output/context.js';
import { plural } from '../output/style.js';
import { clip, escapeControl, terminalSafeJson } from '../output/terminal-safe.js';
import { formatDuration, renderWaterfall } from '../output/waterfall.js';
import { FinishedTraces } from '../local/finished-traces.js';
import { LOCAL_LIMIT_FLAGS, type LocalLimitKey } from '../local/limits.js';
import { connectionsPerListener } from '../local/connections.js';
import { jaegerTraceId, serviceName } from '../local/jaeger.js';
import { SPAN_KIND_NAMES, valueAsJson, type StoredSpan } from '../local/model.js';
import { MAX_SERIES } from '../local/span-metrics.js';
import { LiveRate, type SecondSummary } from '../local/live-rate.js';
import type { StoredTrace } from '../local/store.js';
import { LOCAL_PORT_NAMES, startLocalStack, type LocalStack } from '../local/stack.js';
import type { ReceiverEvent } from '../local/receiver.js';
import { describePorts, findInstance, logFilePath, pidFilePath, readInstance, removeInstance, stateDir, writeInstance, type LocalInstance } from '../local/lifecycle.js';
import { DEFAULT_STACK_DIR, findStack, stackDir } from '../stack/manifest.js';
import { jaegerTraceLink } from '../trace/jaeger.js';
import {
  buildStackModel,
  DEFAULT_HOST_PORTS,
  DEFAULT_OPTIONS,
  DEPLOYMENT_ENV_VAR,
  LOCAL_PORT_ROLES,
  LOCAL_STACK_HEADER,
  LOCAL_STACK_PID_HEADER,
  PORT_FLAGS,
  type LocalPortRole,
  type StackOptions,
} from '../stack/model.js';
import { parseInteger } from './parse.js';
import { formatTable } from './stack-output.js';
import { agentEnvironment, exportLines, userShell } from '../stack/agent-env.js';

/** Rows of one trace printed in the live view; the viewer shows the rest. */
const MAX_TREE_ROWS = 40;
/** Columns a span or service name takes in the live view at most: one long name must not widen every row. */
const LIVE_NAME_WIDTH = 60;
const LIVE_SERVICE_WIDTH = 30;

interface LocalSettings {
  host: string;
  ports: Record<LocalPortRole, number>;
  /** The manifest the ports came from, when there was one. */
  manifestPath?: string;
  /** The options recorded in that manifest. */
  stackOptions?: StackOptions;
  maxTraces: number;
  maxRequestMib: number;
  maxMemoryMib: number;
  maxNameLength: number;
  maxAttributeLength: number;
  /** Per listening port, after lowering to fit the descriptor limit. */
  maxConnections: number;
  deploymentEnvironment: string;
  quiet: boolean;
  /** Where the PID file (and a detached run's log) go. */
  stateDir: string;
  /** `--dir X` when the stack directory is not the default, for the commands we print. */
  dirFlag: string;
}

/** commander's option key for a flag: --otlp-grpc-port -> otlpGrpcPort. */
function optionKey(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function text(value: unknown): string | undefined {
  return value === undefined || value === null || value === false ? undefined : String(value);
}

async function resolveSettings(options: Record<string, unknown>): Promise<LocalSettings> {
  const limit = (key: LocalLimitKey) => {
    const { flag, default: fallback, min, max } = LOCAL_LIMIT_FLAGS[key];
    return parseInteger(flag, text(options[key]) ?? String(fallback), min, max);
  };
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
    maxTraces: limit('maxTraces'),
    maxRequestMib: limit('maxRequestMib'),
    maxMemoryMib: limit('maxMemoryMib'),
    maxNameLength: limit('maxNameLength'),
    maxAttributeLength: limit('maxAttributeLength'),
    maxConnections: connectionsPerListener(limit('maxConnections'), LOCAL_PORT_ROLES.length),
    deploymentEnvironment: process.env[DEPLOYMENT_ENV_VAR] || stack?.manifest.options.environment || DEFAULT_OPTIONS.environment,
    quiet: Boolean(options.quiet),
    stateDir: stateDir(stack?.dir),
    dirFlag: stack && path.relative(process.cwd(), stack.dir) !== DEFAULT_STACK_DIR ? ` --dir ${stack.dir}` : '',
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

interface Background {
  pid: number;
  logFile: string;
  pidFile: string;
}

function printStartup(ctx: OutputContext, settings: LocalSettings, ports: Record<LocalPortRole, number>, background?: Background): void {
  const u = urls(ports);
  const env = localAgentEnvironment(settings, ports);
  if (ctx.json) {
    ctx.out(
      JSON.stringify({
        event: 'listening',
        host: settings.host,
        ports,
        urls: u,
        env,
        maxTraces: settings.maxTraces,
        maxRequestMiB: settings.maxRequestMib,
        maxMemoryMiB: settings.maxMemoryMib,
        maxNameLength: settings.maxNameLength,
        maxAttributeLength: settings.maxAttributeLength,
        maxConnections: settings.maxConnections,
        ...(settings.manifestPath ? { manifest: settings.manifestPath } : {}),
        ...(background ? { detached: true, ...background } : { pid: process.pid }),
      }),
    );
    return;
  }
  const { style } = ctx;
  const rows: Array<[string, string, string]> = [
    ['OTLP gRPC', u.otlpGrpc, 'TraceService, MetricsService, LogsService'],
    ['OTLP HTTP', u.otlpHttp, '/v1/traces, /v1/metrics, /v1/logs (protobuf or JSON, gzip)'],
    ['Trace viewer', u.jaegerUi, 'search, traces, /dependencies, /metrics; Jaeger query API under /api'],
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
  for (const line of exportLines(env, userShell())) ctx.out(`  ${line}`);
  ctx.out();
  const kept = `Keeps the newest ${plural(settings.maxTraces, 'trace')} in at most ${settings.maxMemoryMib} MiB; metrics and logs are accepted and counted, not stored.`;
  if (background) {
    ctx.out(style.dim(kept));
    ctx.out(`Runs in the background (PID ${background.pid}); its output goes to ${background.logFile}.`);
    const { cli } = ctx;
    ctx.out(`${style.bold(`${cli} status${settings.dirFlag}`)} shows it; ${style.bold(`${cli} down${settings.dirFlag}`)} stops it.`);
    return;
  }
  ctx.out(style.dim(`${kept}${settings.quiet ? '' : ' Finished traces appear below.'} Ctrl-C stops.`));
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

/** The viewer's search for traces with an error span, in Jaeger UI's URL form. */
const ERROR_SEARCH = `/search?tags=${encodeURIComponent(JSON.stringify({ error: 'true' }))}`;

function printSecondSummary(ctx: OutputContext, stack: LocalStack, summary: SecondSummary): void {
  const { style } = ctx;
  const base = urls(stack.ports).jaegerUi;
  const errors = summary.errors > 0 ? style.red(`${plural(summary.errors, 'error')} in ${plural(summary.errorTraces, 'trace')}`) : '0 errors';
  const link = summary.errors > 0 ? `${base}${ERROR_SEARCH}` : `${base}/search`;
  ctx.out(`${style.dim(new Date().toTimeString().slice(0, 8))}  ${plural(summary.traces, 'trace')}, ${plural(summary.spans, 'span')}, ${errors} ${style.dim(`(too many to draw; ${link})`)}`);
}

function printTrace(ctx: OutputContext, stack: LocalStack, trace: StoredTrace): void {
  const { traceId } = trace;
  const { style } = ctx;
  // Names come from the sender: escaped, and clipped so one huge name cannot widen every row.
  const display = (text: string, width: number) => clip(escapeControl(text), width);
  const spans = trace.spans.map((s) => ({
    spanId: s.spanId,
    ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
    service: display(serviceName(s.resource), LIVE_SERVICE_WIDTH),
    name: display(s.name, LIVE_NAME_WIDTH),
    startUs: s.startUs,
    durationUs: s.durationUs,
    error: s.statusCode === 2,
  }));
  const root = trace.spans.find((s) => s.parentSpanId === '') ?? trace.spans[0]!;
  const errors = spans.filter((s) => s.error).length;
  const link = jaegerTraceLink(urls(stack.ports).jaegerUi, jaegerTraceId(traceId));
  ctx.out(
    `${style.bold(display(root.name, LIVE_NAME_WIDTH))} ${style.dim(display(serviceName(root.resource), LIVE_SERVICE_WIDTH))}  ${plural(spans.length, 'span')}, ` +
      `${formatDuration(trace.endUs - trace.startUs)}${errors ? `, ${style.red(plural(errors, 'error'))}` : ''}  ${style.dim(link)}`,
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
    ctx.out(terminalSafeJson(event.kind === 'partial' ? { event: 'partial-success', transport, refused: event.refused, reason: event.reason } : { event: 'refused', ...event.request }));
    return;
  }
  const what =
    event.kind === 'partial'
      ? `Partial success sent over OTLP/${transport === 'grpc' ? 'gRPC' : 'HTTP'}: ${escapeControl(event.reason)}`
      : `Refused an OTLP/${transport === 'grpc' ? 'gRPC' : 'HTTP'} request (${event.request.status}): ${escapeControl(event.request.reason)}`;
  ctx.err(`${ctx.style.yellow('!')} ${what}`);
}

function printSummary(ctx: OutputContext, stack: LocalStack, settings: LocalSettings): void {
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
    seriesEvicted: stack.receiver.spanMetrics.evictions,
    tokenSeriesEvicted: stack.receiver.tokenSums.evictions,
    memoryUsedMiB: Math.round((stack.receiver.budget.usedBytes / (1024 * 1024)) * 10) / 10,
    connectionsClosedIdle: Object.values(stack.connections).reduce((sum, c) => sum + c.closedIdle, 0),
  };
  if (ctx.json) {
    ctx.out(JSON.stringify({ event: 'stopped', ...summary }));
    return;
  }
  ctx.out(
    `Stopped after ${formatDuration(summary.uptimeMs * 1000)}: ${plural(summary.spansReceived, 'span')} received (${summary.spansRefused} refused), ` +
      `${plural(summary.tracesKept, 'trace')} kept (${summary.tracesEvicted} evicted), ${plural(summary.metricPoints, 'metric point')}, ` +
      `${plural(summary.logRecords, 'log record')}, ${plural(summary.requestsRefused, 'request')} refused.`,
  );
  if (summary.seriesEvicted > 0) {
    ctx.err(
      `${ctx.style.yellow('!')} ${plural(summary.seriesEvicted, 'span-metric series was', 'span-metric series were')} evicted, least recently updated first (at most ${MAX_SERIES} label sets ` +
        'within the memory budget; span names that carry ids or other unbounded values make a label set each).',
    );
  }
  if (summary.spansNotInMetrics > 0) {
    ctx.err(`${ctx.style.yellow('!')} ${plural(summary.spansNotInMetrics, 'span was', 'spans were')} left out of the span metrics: their series did not fit the memory budget.`);
  }
  if (summary.connectionsClosedIdle > 0) {
    ctx.err(`${ctx.style.yellow('!')} ${plural(summary.connectionsClosedIdle, 'idle connection was', 'idle connections were')} closed to admit new ones (--max-connections ${settings.maxConnections} per port).`);
  }
  if (summary.tokenSeriesEvicted > 0) {
    ctx.err(
      `${ctx.style.yellow('!')} ${plural(summary.tokenSeriesEvicted, 'llm_tokens_total series was', 'llm_tokens_total series were')} evicted, least recently updated first (at most ${MAX_SERIES} label sets within the memory budget).`,
    );
  }
  if (summary.tokenCountsNotInMetrics > 0) {
    ctx.err(`${ctx.style.yellow('!')} ${plural(summary.tokenCountsNotInMetrics, 'token count was', 'token counts were')} left out of llm_tokens_total: their series did not fit the memory budget.`);
  }
}

/** Set in the environment of the background process `--detach` starts: the log file its output goes to. */
const DETACHED_LOG_VAR = 'LOOM_OTEL_DETACHED_LOG';
/** How long `--detach` waits for the background process to answer. */
const DETACH_TIMEOUT_MS = 30_000;
/** Lines of a failed background start's log shown to the user. */
const LOG_TAIL_LINES = 15;

/** A second `up --local` for the same stack directory (or the same user, without one) names the first. */
async function refuseSecondInstance(settings: LocalSettings): Promise<void> {
  const found = await findInstance(settings.stateDir);
  if (found?.state !== 'running') return;
  const { instance } = found;
  throw new ActionError(
    `loom-otel up --local already runs (PID ${instance.pid}, since ${instance.startedAt}; ${describePorts(instance.ports)}).`,
    `Stop it with \`loom-otel down${settings.dirFlag}\`${instance.detached ? "" : " (or Ctrl-C in its terminal)"}, or use it as it is: \`loom-otel status${settings.dirFlag}\` shows it.`,
  );
}

/** A port in use may be held by another up --local (from another directory): its health answer says so, with its PID. */
async function nameThePortHolder(settings: LocalSettings, error: ActionError): Promise<ActionError> {
  const port = settings.ports.collectorHealth;
  if (!/already in use/.test(error.message) || port === 0) return error;
  const answer = await httpGet(`http://127.0.0.1:${port}/`, 1_000);
  if ('error' in answer || answer.headers[LOCAL_STACK_HEADER.name] !== LOCAL_STACK_HEADER.value) return error;
  const pid = answer.headers[LOCAL_STACK_PID_HEADER];
  return new ActionError(
    `${error.message} Another loom-otel up --local${pid ? ` (PID ${String(pid)})` : ''} holds the stack's ports (its health check answers on ${port}).`,
    `Stop it with \`loom-otel down\` in the directory it was started from (or \`kill ${pid ? String(pid) : '<pid>'}\`), or choose other ports with the port flags (0 picks a free one).`,
  );
}

async function startStack(settings: LocalSettings): Promise<LocalStack> {
  try {
    return await startLocalStack({
      host: settings.host,
      ports: settings.ports,
      maxTraces: settings.maxTraces,
      maxRequestBytes: settings.maxRequestMib * 1024 * 1024,
      maxMemoryBytes: settings.maxMemoryMib * 1024 * 1024,
      limits: { nameLength: settings.maxNameLength, valueLength: settings.maxAttributeLength },
      maxConnections: settings.maxConnections,
      deploymentEnvironment: settings.deploymentEnvironment,
    });
  } catch (error) {
    throw error instanceof ActionError ? await nameThePortHolder(settings, error) : error;
  }
}

async function logTail(logFile: string): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
}

/**
 * `--detach`: runs the same command without --detach as a background process (its own session, output
 * to the log file) and returns once its PID file is written and its health check answers.
 */
async function detach(ctx: OutputContext, settings: LocalSettings): Promise<void> {
  await mkdir(settings.stateDir, { recursive: true });
  const logFile = logFilePath(settings.stateDir);
  const fd = openSync(logFile, 'w', 0o600);
  const args = [...process.execArgv, process.argv[1]!, ...process.argv.slice(2).filter((arg) => arg !== '--detach')];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, [DETACHED_LOG_VAR]: logFile } });
  closeSync(fd);
  let exitCode: number | null | undefined;
  child.once('exit', (code, signal) => (exitCode = code ?? (signal ? 128 : -1)));
  const deadline = Date.now() + DETACH_TIMEOUT_MS;
  let instance: LocalInstance | undefined;
  while (instance === undefined) {
    if (exitCode !== undefined) {
      throw new ActionError(
        `The background up --local stopped before it answered (exit code ${exitCode}). The end of its log (${logFile}):\n${await logTail(logFile)}`,
        'Fix what the log names and run the command again; without --detach it prints the same in this terminal.',
      );
    }
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new ActionError(`The background up --local (PID ${child.pid}) did not answer within ${DETACH_TIMEOUT_MS / 1000} s; it was stopped. Its log: ${logFile}`, 'Run without --detach to see it start.');
    }
    const recorded = await readInstance(settings.stateDir);
    if (recorded !== undefined && recorded.pid === child.pid) {
      const health = await httpGet(`http://127.0.0.1:${recorded.ports.collectorHealth}/`, 2_000);
      if (!('error' in health) && health.status === 200) instance = recorded;
    }
    if (instance === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.unref();
  printStartup(ctx, settings, instance.ports, { pid: instance.pid, logFile, pidFile: pidFilePath(settings.stateDir) });
}

export async function runUpLocal(options: Record<string, unknown>, command: Command): Promise<void> {
  const ctx = createOutputContext(command.optsWithGlobals() as GlobalFlags);
  const settings = await resolveSettings(options);
  await refuseSecondInstance(settings);
  if (options.detach) return detach(ctx, settings);

  const stack = await startStack(settings);
  const detachedLog = process.env[DETACHED_LOG_VAR];
  const instance: LocalInstance = {
    pid: process.pid,
    ports: stack.ports,
    host: settings.host,
    startedAt: stack.startedAt.toISOString(),
    detached: detachedLog !== undefined,
    ...(detachedLog ? { logFile: detachedLog } : {}),
    ...(settings.manifestPath ? { stackDir: path.dirname(settings.manifestPath) } : {}),
  };
  try {
    await writeInstance(settings.stateDir, instance);
  } catch (error) {
    // In the foreground the stack works without it; in the background nobody could find it.
    if (detachedLog !== undefined) {
      await stack.close();
      throw new ActionError(`Cannot write the PID file in ${settings.stateDir}: ${(error as Error).message}`, 'Make the directory writable, or set XDG_STATE_HOME to one that is.');
    }
    ctx.err(`${ctx.style.yellow('!')} Cannot write the PID file in ${settings.stateDir} (${(error as Error).message}): \`status\` and \`down\` will not find this run.`);
  }
  printStartup(ctx, settings, stack.ports);

  const rate = new LiveRate((summary) => printSecondSummary(ctx, stack, summary));
  const finished = new FinishedTraces((traceId) => {
    const trace = stack.receiver.store.get(traceId);
    if (!trace) return; // evicted before it settled
    if (rate.admit(trace.spans.length, trace.spans.filter((s) => s.statusCode === 2).length)) printTrace(ctx, stack, trace);
  });
  stack.receiver.listen((event) => {
    if (settings.quiet) return;
    if (event.kind !== 'spans') printEvent(ctx, event);
    else if (ctx.json) for (const span of event.spans) ctx.out(terminalSafeJson(spanJson(span)));
    else finished.seen(event.spans);
  });
  if (!settings.quiet && !ctx.json) {
    finished.start();
    rate.start();
  }

  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await stack.close();
  await removeInstance(settings.stateDir, process.pid).catch(() => undefined);
  finished.stop();
  finished.flush();
  rate.stop();
  if (!ctx.json) ctx.out();
  printSummary(ctx, stack, settings);
}
