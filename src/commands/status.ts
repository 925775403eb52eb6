import type { Command } from 'commander';
import { ActionError, ExitCode } from '../errors.js';
import { createOutputContext, type GlobalFlags } from '../output/context.js';
import { mark } from '../output/style.js';
import { findStack, stackDir } from '../stack/manifest.js';
import { oneOf } from './parse.js';

export function defineStatus(command: Command): void {
  command
    .option('--dir <path>', 'stack directory (default ./observability)')
    .option('--engine <name>', 'container engine: docker (compose plugin), docker-compose or podman')
    .action(runStatus);
}

/** How long one part's probes may take: status answers now, it does not wait for a part to start. */
const PROBE_TIMEOUT_MS = 3_000;

interface PartStatus {
  part: string;
  service: string;
  container: string | null;
  state: string;
  running: boolean;
  healthy: boolean;
  detail: string;
  url: string;
}

async function runStatus(options: Record<string, unknown>, command: Command): Promise<void> {
  const ctx = createOutputContext(command.optsWithGlobals() as GlobalFlags);
  const { ENGINE_NAMES, composeLabel, detectEngine, ensureEngineRunning } = await import('../engine/engine.js');
  const { composeArgv, composeProject, composePs, requireComposeFile } = await import('../engine/compose.js');
  const { displayDir } = await import('../engine/failures.js');
  const { checkPartHealth } = await import('../checks/health.js');
  const { LOCAL_STACK_PARTS, NOT_SERVED_LOCALLY, servedByLocalStack } = await import('../checks/local-stack.js');
  const { formatTable, partUrl } = await import('./stack-output.js');
  const engineChoice = options.engine === undefined ? undefined : oneOf('--engine', String(options.engine), ENGINE_NAMES);
  const dir = stackDir(options.dir as string | undefined);

  const found = await findStack(dir);
  const { answersAsItself, findLocalInstance, goneMessage, instanceJson } = await import('./local-instance.js');
  const local = await findLocalInstance(found?.dir);
  if (local?.state === 'gone') {
    process.exitCode = ExitCode.Failed;
    if (ctx.json) return ctx.emitJson({ ok: false, servedBy: 'up --local', local: instanceJson(local) });
    ctx.out(`${mark(ctx.style, 'fail')} ${goneMessage(local)}`);
    ctx.out(`  \`loom-otel up --local${found ? ` --dir ${displayDir(dir)}` : ''}\` starts it again (--detach for the background).`);
    return;
  }
  if (!found && !local) {
    throw new ActionError(
      `No loom-otel stack in ${displayDir(dir)} (no loom-otel.json), and no \`loom-otel up --local\` runs for this user.`,
      'Run `loom-otel up --local` (no Docker), or `loom-otel init` and `loom-otel up`; or point --dir at the stack directory.',
    );
  }
  // A running up --local's own ports win over the manifest's: it may have been started with port flags.
  const { buildStackModel, DEFAULT_OPTIONS } = await import('../stack/model.js');
  const stackOptions = found?.manifest.options ?? DEFAULT_OPTIONS;
  const model = local ? buildStackModel({ ...stackOptions, ports: { ...stackOptions.ports, ...local.instance.ports } }) : found!.model;
  const { style } = ctx;
  const yesNo = (value: boolean, text = value ? 'yes' : 'no') => (value ? style.green(text) : style.red(text));
  const printTable = (parts: PartStatus[], runningCell: (p: PartStatus) => string) => {
    const rows = [
      ['part', 'running', 'healthy', 'URL'].map((h) => style.dim(h)),
      ...parts.map((p) => [p.part, runningCell(p), p.running ? yesNo(p.healthy) : style.dim('-'), style.cyan(p.url)]),
    ];
    for (const line of formatTable(rows)) ctx.out(line);
    const unhealthy = parts.filter((p) => p.running && !p.healthy);
    if (unhealthy.length > 0) {
      ctx.out();
      for (const p of unhealthy) ctx.out(`${mark(style, 'fail')} ${p.part}: ${p.detail}`);
    }
    ctx.out();
    return unhealthy;
  };

  // The stack of `up --local` has no containers: asking an engine about it would only report failures.
  if (local || (await servedByLocalStack(model, PROBE_TIMEOUT_MS))) {
    const parts = await Promise.all(
      model.parts.map(async (part): Promise<PartStatus> => {
        const served = LOCAL_STACK_PARTS.has(part.name);
        const health = served ? await checkPartHealth(part, PROBE_TIMEOUT_MS) : { healthy: false, detail: NOT_SERVED_LOCALLY };
        const state = served ? 'in-process (up --local)' : 'not part of up --local';
        return { part: part.name, service: part.service, container: null, state, running: served, healthy: health.healthy, detail: health.detail, url: partUrl(model, part) };
      }),
    );
    const served = parts.filter((p) => p.running);
    const itself = local ? await answersAsItself(local.instance) : true;
    const ok = itself && served.every((p) => p.healthy);
    if (!ok) process.exitCode = ExitCode.Failed;
    if (ctx.json) {
      ctx.emitJson({ ok, stack: found ? { name: model.options.name, dir } : null, servedBy: 'up --local', engine: null, ...(local ? { local: instanceJson(local) } : {}), parts });
      return;
    }
    const where = found ? `${style.bold(model.options.name)} in ${displayDir(dir)}` : style.bold('loom-otel up --local');
    const process_ = local ? `PID ${local.instance.pid}${local.instance.detached ? ', in the background' : ''}, since ${local.instance.startedAt}` : 'in-process';
    ctx.out(`${where} (served by \`loom-otel up --local\`: ${process_}, no container engine)`);
    if (local) ctx.out(style.dim(`PID file ${local.pidFile}${local.instance.logFile ? `; log ${local.instance.logFile}` : ''}`));
    if (local && !itself) ctx.out(`${mark(style, 'fail')} PID ${local.instance.pid} is alive but its health check on port ${local.instance.ports.collectorHealth} does not answer as that up --local.`);
    ctx.out();
    const unhealthy = printTable(parts, (p) => (p.running ? yesNo(true) : style.dim(`no: ${p.state}`)));
    const absent = parts.filter((p) => !p.running).map((p) => p.part);
    if (ok) {
      ctx.out(`${mark(style, 'pass')} The ${served.length} parts \`loom-otel up --local\` serves are running and healthy${absent.length > 0 ? `; ${absent.join(' and ')} come with \`loom-otel up\` (Docker)` : ''}.`);
    } else if (unhealthy.length > 0 && local) {
      ctx.out(`${mark(style, 'fail')} \`loom-otel up --local\` (PID ${local.instance.pid}) runs but ${unhealthy.map((p) => p.part).join(' and ')} did not answer: it may be overloaded or hung${local.instance.logFile ? `; its log: ${local.instance.logFile}` : ''}.`);
    } else if (unhealthy.length > 0) {
      ctx.out(`${mark(style, 'fail')} \`loom-otel up --local\` runs but ${unhealthy.map((p) => p.part).join(' and ')} did not answer here: port flags given to it override the ports in ${found!.manifestPath}; restart it without them.`);
    }
    return;
  }

  const engine = await detectEngine(engineChoice);
  await ensureEngineRunning(engine);
  const project = composeProject(engine, dir);
  await requireComposeFile(project);
  const containers = await composePs(project);

  const parts = await Promise.all(
    model.parts.map(async (part): Promise<PartStatus> => {
      const container = containers.find((c) => c.service === part.service);
      const running = container?.running ?? false;
      // A part whose container is not running is not healthy, whatever else may answer on its port.
      const health = running ? await checkPartHealth(part, PROBE_TIMEOUT_MS) : { healthy: false, detail: 'not running' };
      return {
        part: part.name,
        service: part.service,
        container: container?.container ?? null,
        state: container ? `${container.state}${container.exitCode && !running ? ` (exit code ${container.exitCode})` : ''}` : 'not created',
        running,
        healthy: health.healthy,
        detail: health.detail,
        url: partUrl(model, part),
      };
    }),
  );
  const ok = parts.every((p) => p.running && p.healthy);
  if (!ok) process.exitCode = ExitCode.Failed;

  if (ctx.json) {
    ctx.emitJson({ ok, stack: { name: model.options.name, dir }, servedBy: 'compose', engine: { name: engine.name, version: engine.version }, parts });
    return;
  }
  ctx.out(`${style.bold(model.options.name)} in ${displayDir(dir)} (${composeLabel(engine)} ${engine.version})`);
  ctx.out();
  const unhealthy = printTable(parts, (p) => yesNo(p.running, p.running ? 'yes' : `no: ${p.state}`));
  if (ok) {
    ctx.out(`${mark(style, 'pass')} All ${parts.length} parts are running and healthy.`);
  } else if (parts.some((p) => !p.running)) {
    ctx.out(`${mark(style, 'fail')} Not every part is running: \`loom-otel up${displayDir(dir) === 'observability' ? '' : ` --dir ${displayDir(dir)}`}\` starts the stack.`);
  } else {
    const first = unhealthy[0]?.service ?? '<service>';
    ctx.out(`${mark(style, 'fail')} Running but not healthy: a part may still be starting; its log says why: ${composeArgv(project, ['logs', '--tail', '20', first]).join(' ')}`);
  }
}
