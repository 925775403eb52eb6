import type { Command } from 'commander';
import { ActionError, CliError, ExitCode, UsageError } from '../errors.js';
import { createOutputContext, type GlobalFlags, type OutputContext } from '../output/context.js';
import { mark, plural } from '../output/style.js';
import { OTLP_PROTOCOLS, resolveOtlpTraceSettings, resolveServiceName, headerNames, type OtlpTraceSettings, type SettingProblem } from '../otlp/settings.js';
import { findStack, stackDir, type FoundStack } from '../stack/manifest.js';
import { collectKeyValue, oneOf, parseInteger, parseNumber, parseSeconds } from './parse.js';
import type { SendTraceResult, VerifyPlan, WaitingFor } from '../trace/send.js';
import { createSpinner } from '../output/live.js';
import type { LoadProgress, LoadSummary } from '../trace/load.js';
import type { LoomTraceOptions } from '../trace/loom-trace.js';
import { localStackServing, type LocalInstance } from './local-instance.js';

interface SendTestTraceFlags {
  dir?: string;
  endpoint?: string;
  protocol?: string;
  header?: string[];
  insecure?: boolean;
  timeout?: string;
  service?: string;
  attribute?: string[];
  error?: boolean;
  verify: boolean;
  jaegerUrl?: string;
  prometheusUrl?: string;
  wait?: string;
  count?: string;
  rate?: string;
  concurrency?: string;
}

const DEFAULT_WAIT_SECONDS = '30';
/** Where Jaeger's query API listens when there is no stack manifest (Jaeger's own default port). */
const DEFAULT_JAEGER_URL = 'http://127.0.0.1:16686';
const DEFAULT_SERVICE = 'loom-test-agent';
/** How long a finished run may wait for handles a peer keeps open before the process exits anyway. */
const LINGER_MS = 500;

export function defineSendTestTrace(command: Command): void {
  command
    .option('--dir <path>', 'stack directory whose manifest gives the endpoint and backend URLs (default ./observability)')
    .option('--endpoint <url>', 'OTLP endpoint (default OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, the stack manifest, http://localhost:4317)')
    .option('--protocol <protocol>', `OTLP protocol: ${OTLP_PROTOCOLS.join(', ')} (default OTEL_EXPORTER_OTLP_PROTOCOL, else grpc)`)
    .option('--header <key=value>', 'header sent with the export, repeatable (added to OTEL_EXPORTER_OTLP_HEADERS)', collectKeyValue('--header', { secret: true }))
    .option('--insecure', 'plaintext for an endpoint given without a scheme')
    .option('--timeout <seconds>', 'export timeout, also the most the checks before the export may take (default OTEL_EXPORTER_OTLP_TIMEOUT, else 10)')
    .option('--service <name>', `service.name of the agent side (default OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, "${DEFAULT_SERVICE}")`)
    .option('--attribute <key=value>', 'attribute added to the root span (cognitive.run), repeatable', collectKeyValue('--attribute'))
    .option('--error', 'the tool call fails: ERROR status and an exception event, for testing error panels')
    .option('--no-verify', 'only export; do not wait for Jaeger and Prometheus')
    .option('--jaeger-url <url>', 'Jaeger query API / UI (default from the stack manifest, else http://127.0.0.1:16686)')
    .option('--prometheus-url <url>', 'Prometheus API (default from the stack manifest when Prometheus is part of it)')
    .option('--wait <seconds>', 'how long to wait for the trace to show up in Jaeger and Prometheus', DEFAULT_WAIT_SECONDS)
    .option('--count <n>', 'load mode: number of traces to send')
    .option('--rate <per-second>', 'load mode: traces per second (0 = as fast as possible)')
    .option('--concurrency <n>', 'load mode: export requests in flight at once')
    .addHelpText(
      'after',
      `
Exit codes: 0 sent (and seen), 1 the export failed, 2 bad usage, 3 exported but not seen in time.
Any of --count, --rate, --concurrency switches to load mode: no verification, a throughput summary.`,
    )
    .action(async (flags: SendTestTraceFlags, command: Command) => {
      const ctx = createOutputContext(command.optsWithGlobals() as GlobalFlags);
      const plan = await planRun(flags, command);
      quietTlsServerNameWarning();
      for (const problem of plan.warnings) ctx.err(`${ctx.style.yellow('Warning:')} ${problem.variable}: ${problem.message}. ${problem.fix}`);
      try {
        if (plan.load) await runLoadMode(ctx, plan, plan.load);
        else await runSingle(ctx, plan);
      } finally {
        // grpc-js keeps a connection attempt open after its channel is closed (a TLS handshake the peer never
        // finishes): once the result is printed, nothing may keep the command running past its deadline.
        // Unref'd, this timer never delays an exit that would happen anyway.
        setTimeout(() => process.exit(), LINGER_MS).unref();
      }
    });
}

/**
 * grpc-js passes an IP address as the TLS server name, and Node warns about that (DEP0123) on every TLS
 * connection to an address like https://10.0.0.5:4317. Drop that one warning; print the others as Node does.
 */
function quietTlsServerNameWarning(): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) => {
    if (warning.code !== 'DEP0123') process.stderr.write(`(node:${process.pid}) ${warning.name}: ${warning.message}\n`);
  });
}

interface LoadFlags {
  count: number;
  rate: number;
  concurrency: number;
}

interface RunPlan {
  settings: OtlpTraceSettings;
  trace: LoomTraceOptions;
  serviceSource: string;
  verify: VerifyPlan | false;
  /** Why a backend is not checked, by backend. */
  skipped: { jaeger?: string; prometheus?: string };
  load?: LoadFlags;
  stack?: FoundStack;
  /** The running `up --local` the endpoint points at: its viewer and metrics endpoint are checked. */
  local?: LocalInstance;
  warnings: SettingProblem[];
}

function parseUrlFlag(flag: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${flag} must be a URL, not "${value}".`, `For example ${flag} http://127.0.0.1:${flag === '--jaeger-url' ? 16686 : 9090}.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${flag} must be an http:// or https:// URL, not "${value}".`);
  }
  return value.replace(/\/+$/, '');
}

/** Validates every flag before anything is sent, so a bad value ends with exit 2 and nothing done. */
async function planRun(flags: SendTestTraceFlags, command: Command): Promise<RunPlan> {
  const protocol = flags.protocol === undefined ? undefined : oneOf('--protocol', flags.protocol, OTLP_PROTOCOLS);
  const timeoutMs = flags.timeout === undefined ? undefined : parseSeconds('--timeout', flags.timeout);
  const waitMs = parseSeconds('--wait', flags.wait ?? DEFAULT_WAIT_SECONDS);
  const jaegerUrl = flags.jaegerUrl === undefined ? undefined : parseUrlFlag('--jaeger-url', flags.jaegerUrl);
  const prometheusUrl = flags.prometheusUrl === undefined ? undefined : parseUrlFlag('--prometheus-url', flags.prometheusUrl);
  if (flags.service !== undefined && flags.service.trim() === '') throw new UsageError('--service must not be empty.', 'For example --service my-agent.');
  const rootAttributes = keyValues(flags.attribute);

  const loadRequested = flags.count !== undefined || flags.rate !== undefined || flags.concurrency !== undefined;
  const load = loadRequested
    ? {
        count: parseInteger('--count', flags.count ?? '1', 1, 100_000_000),
        rate: parseNumber('--rate', flags.rate ?? '0', 0, 1_000_000),
        concurrency: parseInteger('--concurrency', flags.concurrency ?? '1', 1, 256),
      }
    : undefined;
  if (load) {
    const verifyFlags = (['jaegerUrl', 'prometheusUrl'] as const).filter((key) => flags[key] !== undefined);
    const waitGiven = command.getOptionValueSource('wait') === 'cli';
    if (verifyFlags.length > 0 || waitGiven) {
      const names = [...verifyFlags.map((key) => (key === 'jaegerUrl' ? '--jaeger-url' : '--prometheus-url')), ...(waitGiven ? ['--wait'] : [])];
      throw new UsageError(
        `${names.join(', ')} cannot be used in load mode (--count, --rate, --concurrency): load mode does not verify.`,
        'Verify with a single trace (without --count, --rate, --concurrency), or leave these flags out.',
      );
    }
  }

  const dir = stackDir(flags.dir);
  const stack = await findStack(dir);
  if (!stack && flags.dir !== undefined) {
    throw new UsageError(`--dir ${flags.dir}: there is no stack manifest (loom-otel.json) in ${dir}.`, `Run \`loom-otel init --dir ${flags.dir}\`, or leave out --dir.`);
  }

  const settings = resolveOtlpTraceSettings({
    flags: {
      ...(flags.endpoint !== undefined ? { endpoint: flags.endpoint } : {}),
      ...(protocol !== undefined ? { protocol } : {}),
      ...(flags.header ? { headers: flags.header } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(flags.insecure ? { insecure: true } : {}),
    },
    env: process.env,
    ...(stack ? { stack: stack.manifest.options } : {}),
  });
  const flagProblem = settings.problems.find((problem) => problem.variable.startsWith('--'));
  if (flagProblem) throw new UsageError(`${flagProblem.variable}: ${flagProblem.message}.`, flagProblem.fix);

  const service = resolveServiceName(flags.service?.trim(), { value: DEFAULT_SERVICE, source: 'default' });
  const { 'service.name': _ignored, ...resourceAttributes } = service.resourceAttributes;
  const environment =
    process.env.DEPLOYMENT_ENV?.trim() ||
    resourceAttributes['deployment.environment'] ||
    resourceAttributes['deployment.environment.name'] ||
    stack?.manifest.options.environment ||
    'development';

  const skipped: RunPlan['skipped'] = {};
  let verify: VerifyPlan | false = false;
  const local = await localStackServing(settings.url.value, stack?.dir);
  if (!load && flags.verify) {
    verify = { waitMs };
    // The UI URL of a part is also where its HTTP API lives (same port).
    const fromManifest = (part: 'jaeger' | 'prometheus') => stack?.model.part(part)?.uiUrl?.replace(/\/+$/, '');
    const manifestJaeger = fromManifest('jaeger');
    const manifestPrometheus = fromManifest('prometheus');
    const localSource = local && `up --local (PID ${local.pid})`;
    if (jaegerUrl) verify.jaeger = { url: jaegerUrl, source: 'flag --jaeger-url' };
    else if (local) verify.jaeger = { url: `http://127.0.0.1:${local.ports.jaegerUi}`, source: localSource! };
    else if (manifestJaeger) verify.jaeger = { url: manifestJaeger, source: 'stack manifest' };
    else if (stack) skipped.jaeger = `Jaeger is not part of the stack in ${stack.dir} (give --jaeger-url to check one)`;
    else verify.jaeger = { url: DEFAULT_JAEGER_URL, source: 'default' };
    if (prometheusUrl) verify.prometheus = { url: prometheusUrl, source: 'flag --prometheus-url', kind: 'prometheus' };
    // up --local has no Prometheus: read the span metrics where Prometheus would scrape them.
    else if (local) verify.prometheus = { url: `http://127.0.0.1:${local.ports.collectorMetrics}/metrics`, source: localSource!, kind: 'metrics-endpoint' };
    else if (manifestPrometheus) verify.prometheus = { url: manifestPrometheus, source: 'stack manifest', kind: 'prometheus' };
    else skipped.prometheus = stack ? `Prometheus is not part of the stack in ${stack.dir}` : 'no Prometheus to ask (no stack manifest; give --prometheus-url to check one)';
  } else if (!load) {
    skipped.jaeger = skipped.prometheus = 'not checked (--no-verify)';
  }

  return {
    settings,
    serviceSource: service.source,
    trace: {
      service: service.value,
      version: command.parent?.version() ?? '0.0.0',
      environment,
      resourceAttributes,
      rootAttributes,
      error: Boolean(flags.error),
    },
    verify,
    skipped,
    ...(load ? { load } : {}),
    ...(stack ? { stack } : {}),
    ...(local ? { local } : {}),
    warnings: [...settings.problems, ...service.problems],
  };
}

function keyValues(pairs: string[] | undefined): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    entries[pair.slice(0, eq).trim()] = pair.slice(eq + 1);
  }
  return entries;
}

function endpointLine(settings: OtlpTraceSettings): string {
  const headers = headerNames(settings);
  return `${settings.protocol.value} to ${settings.url.value} (${settings.url.source})${headers.length ? `, headers: ${headers.join(', ')}` : ''}`;
}

/** The endpoint as --json reports it in both modes: header names only. */
function endpointJson(settings: OtlpTraceSettings) {
  return { url: settings.url.value, protocol: settings.protocol.value, source: settings.url.source, headers: headerNames(settings) };
}

const seconds = (s: number | undefined) => `${(s ?? 0).toFixed((s ?? 0) < 10 ? 2 : 1)} s`;

async function runSingle(ctx: OutputContext, plan: RunPlan): Promise<void> {
  const [{ sendTestTrace }, { renderWaterfall }, jaeger] = await Promise.all([
    import('../trace/send.js'),
    import('../output/waterfall.js'),
    import('../trace/jaeger.js'),
  ]);
  const { style } = ctx;
  // stderr carries the spinner, so --json (stdout) gets it too on a terminal.
  const spinner = createSpinner();
  const metricsName = plan.verify && plan.verify.prometheus?.kind === 'metrics-endpoint' ? 'the span metrics' : 'Prometheus';
  const hopNames: Record<WaitingFor, string> = { export: `the export to ${plan.settings.url.value}`, jaeger: 'Jaeger', prometheus: metricsName };
  let result: SendTraceResult;
  try {
    result = await sendTestTrace({
      settings: plan.settings,
      trace: plan.trace,
      verify: plan.verify,
      onTraceId: (traceId) => {
        if (!ctx.json) ctx.out(`Trace ${style.bold(traceId)}`);
      },
      onWaiting: (hops) => spinner?.update(hops.length ? `waiting for ${hops.map((hop) => hopNames[hop]).join(' and ')}` : ''),
    });
  } finally {
    spinner?.stop();
  }

  const failure = verdict(result, plan);
  const links = plan.local
    ? localLinks(plan.local, jaeger.jaegerTraceLink, result.traceId, plan.trace.service)
    : {
        ...(result.jaeger ? { jaeger: jaeger.jaegerTraceLink(result.jaeger.url, result.traceId) } : {}),
        ...(plan.stack?.model.dashboardUrl ? { grafana: plan.stack.model.dashboardUrl } : {}),
      };
  const stored = result.jaeger?.trace ? jaeger.toWaterfall(result.jaeger.trace) : undefined;

  if (ctx.json) {
    const { trace: _trace, ...jaegerHop } = result.jaeger ?? {};
    ctx.emitJson({
      ok: !failure,
      traceId: result.traceId,
      service: { name: plan.trace.service, source: plan.serviceSource },
      services: result.services,
      endpoint: endpointJson(plan.settings),
      export: result.export,
      jaeger: result.jaeger ? jaegerHop : { checked: false, reason: result.jaegerSkipped ?? plan.skipped.jaeger },
      prometheus: result.prometheus ?? { checked: false, reason: result.prometheusSkipped ?? plan.skipped.prometheus },
      trace: stored ? { source: 'jaeger', spans: stored } : { source: 'sent', spans: result.sent },
      links,
      warnings: plan.warnings,
      ...(failure ? { error: { message: failure.message, fix: failure.fix, exitCode: failure.exitCode } } : {}),
    });
    if (failure) process.exitCode = failure.exitCode;
    return;
  }

  const out = result.export;
  const label = (text: string) => text.padEnd(11);
  ctx.out(`  ${result.sent.length} spans, services ${result.services.join(', ')}, over ${endpointLine(plan.settings)}`);
  if (out.failure && out.failure.kind !== 'partial-success') {
    ctx.out(`${mark(style, 'fail')} ${label('exported')} no: ${out.failure.cause}`);
  } else {
    const accepted = out.spans - out.rejectedSpans;
    ctx.out(`${mark(style, out.rejectedSpans ? 'fail' : 'pass')} ${label('exported')} ${accepted} of ${out.spans} spans accepted in ${Math.round(out.ms)} ms`);
    if (out.receiverMessage && !out.rejectedSpans) ctx.out(`${mark(style, 'warn')} ${label('receiver')} ${out.receiverMessage}`);
  }
  if (!out.failure) {
    const j = result.jaeger;
    if (j) {
      const where = `(${j.url})`;
      if (j.visible) ctx.out(`${mark(style, 'pass')} ${label('Jaeger')} ${j.spans}/${j.expectedSpans} spans, ${j.services.length} services (${j.services.join(', ')}) after ${seconds(j.seconds)} ${style.dim(where)}`);
      else ctx.out(`${mark(style, 'fail')} ${label('Jaeger')} ${j.spans}/${j.expectedSpans} spans after ${plan.verify ? plan.verify.waitMs / 1000 : 0} s${j.lastError ? `: ${j.lastError}` : ''} ${style.dim(where)}`);
    } else if (result.jaegerSkipped) {
      ctx.out(`${mark(style, 'warn')} ${label('Jaeger')} ${result.jaegerSkipped}`);
    } else {
      ctx.out(`${mark(style, 'skip')} ${label('Jaeger')} ${plan.skipped.jaeger}`);
    }
    const p = result.prometheus;
    if (p) {
      const where = `(${p.url})`;
      const name = p.kind === 'metrics-endpoint' ? 'Metrics' : 'Prometheus';
      if (p.visible) ctx.out(`${mark(style, 'pass')} ${label(name)} spanmetrics for ${p.service} after ${seconds(p.seconds)} ${style.dim(where)}`);
      else ctx.out(`${mark(style, 'fail')} ${label(name)} no new spanmetrics for ${p.service}${p.lastError ? `: ${p.lastError}` : ''} ${style.dim(where)}`);
    } else if (result.prometheusSkipped) {
      ctx.out(`${mark(style, 'warn')} ${label('Prometheus')} ${result.prometheusSkipped}`);
    } else {
      ctx.out(`${mark(style, 'skip')} ${label('Prometheus')} ${plan.skipped.prometheus}`);
    }
  }

  const tree = stored ?? (out.failure ? undefined : result.sent);
  if (tree) {
    ctx.out();
    ctx.out(style.dim(stored ? 'As stored in Jaeger:' : 'As sent (not read back):'));
    for (const line of renderWaterfall(tree, style)) ctx.out(`  ${line}`);
  }
  const shown = Object.entries(links);
  if (shown.length > 0) ctx.out();
  // up --local serves the trace at Jaeger's URL, with its own viewer.
  const labels = plan.local ? { ...LINK_LABELS, jaeger: 'Viewer' } : LINK_LABELS;
  for (const [name, url] of shown) ctx.out(`${`${labels[name] ?? name}:`.padEnd(9)}${url}`);
  if (failure) throw failure;
}

const LINK_LABELS: Record<string, string> = { jaeger: 'Jaeger', grafana: 'Grafana', search: 'Search', metrics: 'Metrics' };

/** up --local's own pages: the trace, the search for the test service, and the agents metrics page (its Grafana). */
function localLinks(local: LocalInstance, traceLink: (base: string, traceId: string) => string, traceId: string, service: string): Record<string, string> {
  const base = `http://127.0.0.1:${local.ports.jaegerUi}`;
  return { jaeger: traceLink(base, traceId), search: `${base}/search?service=${encodeURIComponent(service)}`, metrics: `${base}/metrics` };
}

/** The error the run ends with, or undefined when everything asked for was seen. */
function verdict(result: SendTraceResult, plan: RunPlan): CliError | undefined {
  const out = result.export;
  if (out.failure) {
    return new ActionError(`Export to ${plan.settings.url.value} over ${plan.settings.protocol.value} failed: ${out.failure.cause}`, out.failure.fix);
  }
  const wait = plan.verify ? plan.verify.waitMs / 1000 : 0;
  const seen: string[] = [`exported ${out.spans} spans`];
  const unseen: string[] = [];
  const j = result.jaeger;
  if (j?.visible) seen.push(`Jaeger stored all ${j.expectedSpans} spans`);
  else if (j) {
    const missing = j.missing.slice(0, 4).map((span) => `${span.name} (${span.service})`).join(', ');
    const more = j.missing.length > 4 ? ` and ${j.missing.length - 4} more` : '';
    const had = j.spans === 0 ? `Jaeger had none of the ${j.expectedSpans} spans` : `Jaeger had ${j.spans} of ${j.expectedSpans} spans (missing ${missing}${more})`;
    unseen.push(`${had}${j.lastError ? `; ${j.lastError}` : ''}`);
  }
  const p = result.prometheus;
  const metrics = p?.kind === 'metrics-endpoint' ? `the span metrics endpoint of up --local` : 'Prometheus';
  if (p?.visible) seen.push(`${metrics} counted ${p.service}`);
  else if (p) unseen.push(`${metrics} showed no new spanmetrics for ${p.service}${p.lastError ? `; ${p.lastError}` : ''}`);
  if (unseen.length === 0) return undefined;
  const reachability = [j?.lastError, p?.lastError].some(Boolean)
    ? ' If a backend is not running here, point at it with --jaeger-url / --prometheus-url, or use --no-verify.'
    : '';
  return new CliError(
    `Not seen within ${wait} s: ${unseen.join('; ')}. Seen: ${seen.join('; ')}.`,
    ExitCode.NotVerified,
    `Run \`loom-otel doctor\` to check the collector and its pipelines, or raise --wait if the backends are only slow${
      p && !p.visible ? " (spanmetrics reach Prometheus after the connector's flush interval plus a scrape)" : ''
    }.${reachability}`,
  );
}

async function runLoadMode(ctx: OutputContext, plan: RunPlan, load: LoadFlags): Promise<void> {
  const { runLoad } = await import('../trace/load.js');
  const { style } = ctx;
  const showProgress = Boolean(process.stderr.isTTY);
  if (!ctx.json) {
    const pace = load.rate > 0 ? `${load.rate} traces/s` : 'as fast as possible';
    ctx.out(`Load: ${plural(load.count, 'trace')}, ${pace}, ${plural(load.concurrency, 'export')} in flight, ${endpointLine(plan.settings)}`);
  }
  const abort = new AbortController();
  const onInterrupt = () => abort.abort();
  process.once('SIGINT', onInterrupt);
  let lastDraw = 0;
  const draw = (progress: LoadProgress) => {
    const now = performance.now();
    if (now - lastDraw < 100 && progress.tracesDone < progress.tracesTotal) return;
    lastDraw = now;
    const rate = progress.elapsedMs > 0 ? Math.round(progress.spansAccepted / (progress.elapsedMs / 1000)) : 0;
    process.stderr.write(
      `\r\u001b[K${progress.tracesDone}/${progress.tracesTotal} traces · ${progress.spansAccepted} spans · ${rate} spans/s · ${progress.failedExports} failed exports`,
    );
  };
  let summary: LoadSummary;
  try {
    summary = await runLoad({
      settings: plan.settings,
      trace: plan.trace,
      ...load,
      signal: abort.signal,
      ...(showProgress ? { onProgress: draw } : {}),
    });
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    if (showProgress) process.stderr.write('\r\u001b[K');
  }

  const failed = summary.failedExports > 0;
  const error = summary.interrupted
    ? new CliError(`Interrupted after ${summary.tracesSent} of ${summary.tracesRequested} traces.`, ExitCode.Interrupted)
    : failed
      ? new ActionError(
          `${summary.failedExports} of ${summary.exports} export requests failed (${summary.spansFailed} spans not delivered): ${summary.failures[0]?.cause ?? ''}`,
          summary.failures[0]?.fix,
        )
      : undefined;
  if (ctx.json) {
    ctx.emitJson({
      ok: !error,
      mode: 'load',
      endpoint: endpointJson(plan.settings),
      service: plan.trace.service,
      settings: load,
      ...summary,
      warnings: plan.warnings,
      ...(error ? { error: { message: error.message, fix: error.fix, exitCode: error.exitCode } } : {}),
    });
    if (error) process.exitCode = error.exitCode;
    return;
  }
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  ctx.out(
    `${mark(style, failed ? 'fail' : 'pass')} sent      ${summary.tracesSent}/${summary.tracesRequested} traces, ${summary.spansSent} spans in ${summary.seconds.toFixed(2)} s: ${Math.round(summary.spansPerSecond)} spans/s (${Math.round(summary.tracesPerSecond)} traces/s)`,
  );
  ctx.out(`  latency   p50 ${ms(summary.latencyMs.p50)} · p95 ${ms(summary.latencyMs.p95)} · p99 ${ms(summary.latencyMs.p99)} over ${summary.exports} export requests`);
  if (failed) {
    ctx.out(`  failures  ${summary.failedExports} export requests, ${summary.spansFailed} spans not delivered:`);
    for (const failure of summary.failures) {
      ctx.out(`    ${failure.exports}× ${failure.cause}`);
      ctx.out(`       ${style.dim(`Fix: ${failure.fix}`)}`);
    }
  }
  if (error) throw error;
}
