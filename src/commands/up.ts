import type { Command } from 'commander';
import path from 'node:path';
import { ActionError, InterruptedError, UsageError } from '../errors.js';
import { createOutputContext, type GlobalFlags, type OutputContext } from '../output/context.js';
import { mark } from '../output/style.js';
import { findStack, stackDir, type FoundStack } from '../stack/manifest.js';
import { DEFAULT_MAX_REQUEST_MIB, DEFAULT_MAX_TRACES } from '../local/limits.js';
import { oneOf, parseSeconds } from './parse.js';

// Flags for both modes are declared here; `--local` runs the embedded stack (src/commands/up-local.ts).
export function registerUp(program: Command): void {
  program
    .command('up')
    .description('Start the stack and wait until every part is healthy (--local: no Docker)')
    .option('--dir <path>', 'stack directory (default ./observability)')
    .option('--engine <name>', 'container engine: docker (compose plugin), docker-compose or podman')
    .option('--timeout <seconds>', 'how long to wait for every part to turn healthy', '120')
    .option('-y, --yes', 'never prompt (run init with defaults when there is no stack)')
    .option('--local', 'no Docker: run an OTLP receiver, trace store, Jaeger query API and metrics in this process')
    .option('--expose', 'with --local: listen on all interfaces instead of 127.0.0.1')
    .option('--quiet', 'with --local: do not print each finished trace')
    .option('--max-traces <n>', 'with --local: traces kept in memory, oldest evicted first', String(DEFAULT_MAX_TRACES))
    .option('--max-request-mib <n>', 'with --local: largest OTLP request accepted, in MiB', String(DEFAULT_MAX_REQUEST_MIB))
    .option('--otlp-grpc-port <port>', 'with --local: OTLP/gRPC port (0 = any free port; default from the stack manifest, else 4317)')
    .option('--otlp-http-port <port>', 'with --local: OTLP/HTTP port (default 4318)')
    .option('--health-port <port>', 'with --local: health_check port (default 13133)')
    .option('--metrics-port <port>', 'with --local: spanmetrics exposition port (default 8889)')
    .option('--jaeger-port <port>', 'with --local: Jaeger query API and trace viewer port (default 16686)')
    .action(async (options: Record<string, unknown>, command: Command) => {
      if (options.local) {
        const { runUpLocal } = await import('./up-local.js');
        return runUpLocal(options, command);
      }
      return runUp(options, command);
    });
}

/** Flags that only `--local` reads, by commander attribute name. */
const LOCAL_ONLY_FLAGS: Readonly<Record<string, string>> = {
  expose: '--expose',
  quiet: '--quiet',
  maxTraces: '--max-traces',
  maxRequestMib: '--max-request-mib',
  otlpGrpcPort: '--otlp-grpc-port',
  otlpHttpPort: '--otlp-http-port',
  healthPort: '--health-port',
  metricsPort: '--metrics-port',
  jaegerPort: '--jaeger-port',
};

const LOG_LINES = 20;

async function runUp(options: Record<string, unknown>, command: Command): Promise<void> {
  const ctx = createOutputContext(command.optsWithGlobals() as GlobalFlags);
  const { ENGINE_NAMES, composeLabel, detectEngine, ensureEngineRunning } = await import('../engine/engine.js');
  for (const [key, flag] of Object.entries(LOCAL_ONLY_FLAGS)) {
    if (command.getOptionValueSource(key) !== 'cli') continue;
    const port = flag.endsWith('-port');
    throw new UsageError(
      `${flag} applies to \`up --local\` only.`,
      port
        ? `The Docker stack's ports are chosen by init: \`loom-otel init ${flag} <port>\`, then \`loom-otel up\`. Or add --local.`
        : 'Add --local, or leave the flag out.',
    );
  }
  const timeoutMs = parseSeconds('--timeout', String(options.timeout));
  const engineChoice = options.engine === undefined ? undefined : oneOf('--engine', String(options.engine), ENGINE_NAMES);
  const dir = stackDir(options.dir as string | undefined);

  const stack = (await findStack(dir)) ?? (await createStack(ctx, dir, Boolean(options.yes)));
  const { model } = stack;
  const engine = await detectEngine(engineChoice);
  await ensureEngineRunning(engine);

  const { composeArgv, composeLogs, composeProject, composePs, composeUp, requireComposeFile } = await import('../engine/compose.js');
  const { findPortConflicts } = await import('../engine/ports.js');
  const { displayDir, portConflictError } = await import('../engine/failures.js');
  const project = composeProject(engine, dir);
  await requireComposeFile(project);

  // Ports held by this stack's own running containers (an `up` of a stack that is up) are not conflicts.
  // A Compose whose `ps` fails here still gets to run `up`, which reports real problems itself.
  const containers = await composePs(project).catch(() => []);
  const running = new Set(containers.filter((s) => s.running).map((s) => s.service));
  const conflicts = await findPortConflicts(model, running, engine);
  if (conflicts.length > 0) throw portConflictError(model, dir, conflicts);

  if (!ctx.json) ctx.err(`Starting ${model.options.name} with ${composeLabel(engine)} ${engine.version} (the first start pulls the images: allow a few minutes)...`);
  const composeOutput = ctx.json || !process.stderr.isTTY ? undefined : liveLine();
  try {
    await composeUp(project, model, composeOutput?.show);
  } finally {
    composeOutput?.clear();
  }

  const { waitUntilHealthy } = await import('../checks/health.js');
  const { createHealthProgress, agentEnvironment, exportLines, formatTable, partUrl, seconds, stackUrls } = await import('./stack-output.js');
  const progress = createHealthProgress(ctx, model, timeoutMs);
  const crashed = watchForCrashes(() => composePs(project), model.parts.map((p) => p.service));
  const results = await waitUntilHealthy(model, { timeoutMs, onUpdate: progress.update, signal: crashed.signal });
  crashed.stop();
  progress.stop();

  const unhealthy = results.filter((r) => !r.healthy);
  if (unhealthy.length > 0) {
    // When a container stopped, its log is the one that explains; the others were cut short, not broken.
    const crashedParts = unhealthy.filter((r) => crashed.states.has(r.part.service));
    const failures = await Promise.all(
      (crashedParts.length > 0 ? crashedParts : unhealthy).map(async (r) => {
        const state = crashed.states.get(r.part.service);
        const detail = state ? `its container ${state.state}${state.exitCode !== undefined ? ` (exit code ${state.exitCode})` : ''}; last probe: ${r.detail}` : r.detail;
        return { part: r.part.name, service: r.part.service, detail, log: await composeLogs(project, r.part.service, LOG_LINES) };
      }),
    );
    const error = new ActionError(
      crashedParts.length > 0
        ? `${failures.map((f) => f.part).join(', ')} stopped before turning healthy (${failures.length === 1 ? 'its container' : 'their containers'} exited or keep restarting).`
        : `${failures.map((f) => f.part).join(', ')} did not turn healthy within ${seconds(timeoutMs)}.`,
      `Read ${failures.length === 1 ? 'its log' : 'their logs'} above for the cause; once fixed, run \`loom-otel up\` again. If a part was still starting, give it longer with --timeout.`,
    );
    if (ctx.json) {
      ctx.emitJson({ ok: false, error: { message: error.message, fix: error.fix, exitCode: error.exitCode }, parts: results.map((r) => ({ part: r.part.name, healthy: r.healthy, detail: r.detail })), logs: failures });
      process.exitCode = error.exitCode;
      return;
    }
    for (const failure of failures) {
      ctx.err(`${mark(ctx.style, 'fail')} ${failure.part}: ${failure.detail}`);
      const logCommand = composeArgv(project, ['logs', '--tail', String(LOG_LINES), failure.service]).join(' ');
      ctx.err(ctx.style.dim(`  Last ${LOG_LINES} lines of its log (${logCommand}):`));
      for (const line of (failure.log || '(no log output)').split('\n')) ctx.err(`    ${line}`);
    }
    throw error;
  }

  const { ENV_FILE, GRAFANA_ADMIN_USER, GRAFANA_PASSWORD_VAR } = await import('../stack/render/env.js');
  const login = `user ${GRAFANA_ADMIN_USER}, password: ${GRAFANA_PASSWORD_VAR} in ${displayDir(path.join(dir, ENV_FILE))}`;
  const urls = stackUrls(model, login);
  const env = agentEnvironment(model);
  const slowest = Math.max(...results.map((r) => r.healthyAfterMs ?? 0));
  if (ctx.json) {
    ctx.emitJson({
      ok: true,
      stack: { name: model.options.name, dir },
      engine: { name: engine.name, version: engine.version },
      parts: results.map((r) => ({ part: r.part.name, service: r.part.service, healthy: true, healthyAfterMs: r.healthyAfterMs, url: partUrl(model, r.part) })),
      urls,
      env,
    });
    return;
  }
  ctx.out(`${mark(ctx.style, 'pass')} ${ctx.style.bold(model.options.name)} is up: ${results.length} parts healthy in ${seconds(slowest)} (${composeLabel(engine)} ${engine.version}).`);
  ctx.out();
  for (const line of formatTable(urls.map((u) => [u.label, ctx.style.cyan(u.url), ctx.style.dim(u.note ?? '')]))) ctx.out(line);
  ctx.out();
  ctx.out('Point an agent on this machine at it:');
  ctx.out();
  for (const line of exportLines(env)) ctx.out(`  ${line}`);
  ctx.out();
  ctx.out(`Next: ${ctx.style.bold('loom-otel send-test-trace')} proves traces arrive; ${ctx.style.bold('loom-otel status')} shows the parts; ${ctx.style.bold('loom-otel down')} stops the stack.`);
}

/**
 * No stack yet: create one with init's defaults when allowed (--yes, or a yes at the prompt).
 * Files already in the directory that loom-otel did not write are never overwritten.
 */
async function createStack(ctx: OutputContext, dir: string, yes: boolean): Promise<FoundStack> {
  const { displayDir } = await import('../engine/failures.js');
  const where = displayDir(dir);
  const initCommand = `loom-otel init${where === 'observability' ? '' : ` --dir ${where}`}`;
  if (!yes) {
    if (!ctx.interactive) {
      throw new ActionError(`No loom-otel stack in ${where} (no loom-otel.json).`, `Run \`${initCommand}\` first, or add --yes to create one with the defaults.`);
    }
    const { confirm } = await import('@inquirer/prompts');
    let answer: boolean;
    try {
      answer = await confirm({ message: `No loom-otel stack in ${where}. Create one now with init's defaults (Jaeger, Prometheus, Grafana)?`, default: true });
    } catch (error) {
      if ((error as Error).name === 'ExitPromptError') throw new InterruptedError();
      throw error;
    }
    if (!answer) throw new ActionError('No stack to start.', `Run \`${initCommand}\` to choose the parts and ports, then \`loom-otel up\`.`);
  }
  const { baseOptions, checkDirectoryWritable, loadExistingStack, planInit } = await import('../stack/scaffold.js');
  const { applyPlan } = await import('../stack/write.js');
  await checkDirectoryWritable(dir);
  const existing = await loadExistingStack(dir, false);
  const { plan } = await planInit(existing, baseOptions(existing), false);
  const foreign = plan.files.filter((f) => f.action === 'keep-edited').map((f) => f.path);
  if (foreign.length > 0) {
    throw new ActionError(
      `${where} already holds files loom-otel did not write (${foreign.join(', ')}); up will not start a stack it did not generate.`,
      `Run \`${initCommand}\` to see what it would do (--force replaces them), or use another directory with --dir.`,
    );
  }
  await applyPlan(plan);
  if (!ctx.json) ctx.err(`${mark(ctx.style, 'pass')} Created the stack in ${where} with init's defaults (${plan.files.length} files; \`${initCommand}\` changes them).`);
  const created = await findStack(dir);
  if (!created) throw new ActionError(`init wrote ${where} but its loom-otel.json cannot be read back.`, `Run \`${initCommand} --force\`.`);
  return created;
}

/** A single status line on a terminal, showing the latest line Compose printed. */
function liveLine(): { show: (line: string) => void; clear: () => void } {
  let shown = false;
  return {
    show(line) {
      const width = (process.stderr.columns || 100) - 4;
      process.stderr.write(`\r\u001b[2K  ${line.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '').slice(0, width)}`);
      shown = true;
    },
    clear() {
      if (shown) process.stderr.write('\r\u001b[2K');
    },
  };
}

interface ContainerState {
  state: string;
  exitCode?: number;
}

/**
 * While waiting for health, asks Compose every 2 s whether a container of the stack has stopped or keeps
 * restarting; then waiting longer cannot help, and `signal` aborts the wait.
 */
function watchForCrashes(
  listContainers: () => Promise<Array<{ service: string; state: string; exitCode?: number }>>,
  services: readonly string[],
): { signal: AbortSignal; states: Map<string, ContainerState>; stop: () => void } {
  const controller = new AbortController();
  const states = new Map<string, ContainerState>();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    listContainers()
      .then((containers) => {
        for (const c of containers) {
          if (services.includes(c.service) && ['exited', 'dead', 'restarting'].includes(c.state)) {
            states.set(c.service, { state: c.state, ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}) });
          }
        }
        if (states.size > 0) controller.abort();
      })
      // A failing `ps` is not a crash of the stack: keep waiting on the health probes.
      .catch(() => undefined)
      .finally(() => (busy = false));
  }, 2_000);
  timer.unref();
  return { signal: controller.signal, states, stop: () => clearInterval(timer) };
}
