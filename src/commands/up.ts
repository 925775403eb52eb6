import type { Command } from 'commander';
import path from 'node:path';
import { ActionError, InterruptedError, UsageError } from '../errors.js';
import { createOutputContext, type GlobalFlags, type OutputContext } from '../output/context.js';
import { createLiveLines } from '../output/live.js';
import { mark } from '../output/style.js';
import { escapeControl } from '../output/terminal-safe.js';
import { kubectlInstead } from '../stack/kubernetes.js';
import { findStack, stackDir, type FoundStack } from '../stack/manifest.js';
import { LOCAL_LIMIT_FLAGS } from '../local/limits.js';
import { oneOf, parseSeconds } from './parse.js';
import type { HealthProgress } from './stack-output.js';
import type { Engine } from '../engine/engine.js';

// Flags for both modes are declared here; `--local` runs the embedded stack (src/commands/up-local.ts).
export function defineUp(command: Command): void {
  command
    .option('--dir <path>', 'stack directory (default ./observability)')
    .option('--engine <name>', 'container engine: docker (compose plugin), docker-compose or podman')
    .option('--timeout <seconds>', 'how long to wait for every part to turn healthy', '120')
    .option('-y, --yes', 'never prompt (run init with defaults when there is no stack)')
    .option('--local', 'no Docker: run an OTLP receiver, trace store, Jaeger query API and metrics in this process')
    .option('--expose', 'with --local: listen on all interfaces instead of 127.0.0.1')
    .option('--detach', 'with --local: run in the background; returns once it answers (PID and log file in the stack directory, else ~/.local/state/loom-otel)')
    .option('--quiet', 'with --local: do not print each finished trace');
  for (const limit of Object.values(LOCAL_LIMIT_FLAGS)) command.option(`${limit.flag} <n>`, `with --local: ${limit.description}`, String(limit.default));
  command
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
  detach: '--detach',
  quiet: '--quiet',
  ...Object.fromEntries(Object.entries(LOCAL_LIMIT_FLAGS).map(([key, limit]) => [key, limit.flag])),
  otlpGrpcPort: '--otlp-grpc-port',
  otlpHttpPort: '--otlp-http-port',
  healthPort: '--health-port',
  metricsPort: '--metrics-port',
  jaegerPort: '--jaeger-port',
};

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

  let stack = await findStack(dir);
  // A Kubernetes stack is applied with kubectl: refused before any engine is asked about.
  const refusal = stack && kubectlInstead('up', stack.manifest.options, dir);
  if (refusal) throw refusal;
  let checkedEngine: Engine | undefined;
  if (!stack) {
    // A stack is written only where it can start: no engine, no files (the error suggests up --local).
    if (options.yes || ctx.interactive) {
      checkedEngine = await detectEngine(engineChoice);
      await ensureEngineRunning(checkedEngine);
    }
    stack = await createStack(ctx, dir, Boolean(options.yes));
  }
  const { model } = stack;
  const { FAILURE_LOG_LINES, startStack } = await import('../engine/start.js');
  const { createHealthProgress, formatTable, partUrl, seconds, stackUrls } = await import('./stack-output.js');
  const { agentEnvironment, exportLines, userShell } = await import('../stack/agent-env.js');
  // On a terminal, one line showing the latest line Compose printed (its own colours removed).
  let composeLine = '';
  const composeOutput = ctx.json
    ? undefined
    : createLiveLines(() => (composeLine ? [`  ${escapeControl(composeLine.replace(/\u001b\[[0-9;]*[A-Za-z]/g, ''))}`] : []), { color: ctx.style.color });
  let progress: HealthProgress | undefined;
  const { engine, results, failures, crashed } = await startStack(
    { model, dir, engineChoice, timeoutMs, ...(checkedEngine ? { engine: checkedEngine } : {}) },
    {
      onComposeUp: (found) => {
        if (!ctx.json) ctx.err(`Starting ${model.options.name} with ${composeLabel(found)} ${found.version} (the first start pulls the images: allow a few minutes)...`);
      },
      onComposeOutput:
        composeOutput &&
        ((line) => {
          composeLine = line;
          composeOutput.redraw();
        }),
      onComposeDone: composeOutput && (() => composeOutput.stop()),
      onHealthWait: () => {
        progress = createHealthProgress(ctx, model, timeoutMs);
      },
      onHealthUpdate: (health) => progress?.update(health),
      onHealthWaitDone: () => progress?.stop(),
    },
  );

  if (failures.length > 0) {
    const error = new ActionError(
      crashed
        ? `${failures.map((f) => f.part).join(', ')} stopped before turning healthy (${failures.length === 1 ? 'its container' : 'their containers'} exited or keep restarting).`
        : `${failures.map((f) => f.part).join(', ')} did not turn healthy within ${seconds(timeoutMs)}.`,
      `Read ${failures.length === 1 ? 'its log' : 'their logs'} above for the cause; once fixed, run \`loom-otel up\` again. If a part was still starting, give it longer with --timeout.`,
    );
    if (ctx.json) {
      ctx.emitJson({
        ok: false,
        error: { message: error.message, fix: error.fix, exitCode: error.exitCode },
        parts: results.map((r) => ({ part: r.part.name, healthy: r.healthy, detail: r.detail })),
        logs: failures.map((f) => ({ part: f.part, service: f.service, detail: f.detail, log: f.log })),
      });
      process.exitCode = error.exitCode;
      return;
    }
    for (const failure of failures) {
      ctx.err(`${mark(ctx.style, 'fail')} ${failure.part}: ${failure.detail}`);
      ctx.err(ctx.style.dim(`  Last ${FAILURE_LOG_LINES} lines of its log (${failure.logCommand}):`));
      for (const line of (failure.log || '(no log output)').split('\n')) ctx.err(`    ${line}`);
    }
    throw error;
  }

  const { displayDir } = await import('../engine/failures.js');
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
  for (const line of exportLines(env, userShell())) ctx.out(`  ${line}`);
  ctx.out();
  const { cli } = ctx;
  ctx.out(`Next: ${ctx.style.bold(`${cli} send-test-trace`)} proves traces arrive; ${ctx.style.bold(`${cli} status`)} shows the parts; ${ctx.style.bold(`${cli} down`)} stops the stack.`);
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
