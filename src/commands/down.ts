import path from 'node:path';
import type { Command } from 'commander';
import { ActionError, InterruptedError } from '../errors.js';
import { createOutputContext, type GlobalFlags, type OutputContext } from '../output/context.js';
import { mark } from '../output/style.js';
import { kubectlInstead } from '../stack/kubernetes.js';
import { findStack, stackDir } from '../stack/manifest.js';
import { oneOf } from './parse.js';

export function defineDown(command: Command): void {
  command
    .option('--dir <path>', 'stack directory (default ./observability)')
    .option('--engine <name>', 'container engine: docker (compose plugin), docker-compose or podman')
    .option('--volumes', "also delete the stack's data volumes (Prometheus and Grafana data); asks first unless --yes")
    .option('-y, --yes', 'never prompt (with --volumes: delete the data without asking)')
    .action(runDown);
}

async function runDown(options: Record<string, unknown>, command: Command): Promise<void> {
  const ctx = createOutputContext(command.optsWithGlobals() as GlobalFlags);
  const { ENGINE_NAMES, composeLabel, detectEngine, ensureEngineRunning } = await import('../engine/engine.js');
  const { composeDown, composeProject, requireComposeFile } = await import('../engine/compose.js');
  const { displayDir } = await import('../engine/failures.js');
  const engineChoice = options.engine === undefined ? undefined : oneOf('--engine', String(options.engine), ENGINE_NAMES);
  const dir = stackDir(options.dir as string | undefined);
  const volumes = options.volumes === true;
  const where = displayDir(dir);

  // Deleting data needs a yes: refuse before doing anything when nobody can be asked.
  if (volumes && !options.yes && !ctx.interactive) {
    throw new ActionError(
      `--volumes deletes the stack's data (Prometheus series, Grafana state) and nobody can be asked to confirm here.`,
      'Add --yes to confirm: `loom-otel down --volumes --yes`. Without --volumes, down keeps the data.',
    );
  }
  const stack = await findStack(dir);
  if (await downLocal(ctx, stack?.dir)) return;
  if (!stack) {
    throw new ActionError(
      `No loom-otel stack in ${where} (no loom-otel.json) and no \`loom-otel up --local\` runs for this user, so there is nothing to stop.`,
      'Point --dir at the stack directory that `loom-otel up` (or `up --local`) started.',
    );
  }
  const refusal = kubectlInstead('down', stack.manifest.options, where);
  if (refusal) throw refusal;
  const engine = await detectEngine(engineChoice);
  await ensureEngineRunning(engine);
  const project = composeProject(engine, dir);
  await requireComposeFile(project);

  const { VOLUMES } = await import('../stack/render/compose.js');
  const dataVolumes = (Object.keys(VOLUMES) as Array<keyof typeof VOLUMES>)
    .filter((part) => stack.model.has(part))
    .map((part) => `${stack.model.options.name}_${VOLUMES[part]}`);
  if (volumes && !options.yes) {
    const { confirm } = await import('@inquirer/prompts');
    let answer: boolean;
    try {
      answer = await confirm({ message: `Stop ${stack.model.options.name} and delete its data volumes (${dataVolumes.join(', ')})? This cannot be undone.`, default: false });
    } catch (error) {
      if ((error as Error).name === 'ExitPromptError') throw new InterruptedError('Interrupted; the stack and its data were left as they were.');
      throw error;
    }
    if (!answer) throw new ActionError('Not confirmed: the stack and its data were left as they were.', 'Run `loom-otel down` to stop it and keep the data.');
  }

  await composeDown(project, { volumes });
  if (ctx.json) {
    ctx.emitJson({ ok: true, stack: { name: stack.model.options.name, dir }, engine: { name: engine.name, version: engine.version }, volumesRemoved: volumes ? dataVolumes : [] });
    return;
  }
  ctx.out(`${mark(ctx.style, 'pass')} Stopped ${ctx.style.bold(stack.model.options.name)} and removed its containers (${composeLabel(engine)} down).`);
  ctx.out(
    volumes
      ? dataVolumes.length > 0
        ? `  Deleted its data volumes: ${dataVolumes.join(', ')}.`
        : '  It has no data volumes (neither Prometheus nor Grafana is part of it).'
      : `  Its data is kept${dataVolumes.length > 0 ? ` (${dataVolumes.join(', ')})` : ''}; \`loom-otel down --volumes\` deletes it. \`loom-otel up\` starts it again.`,
  );
}

/** How long down waits for up --local to close its ports and print its summary after SIGTERM. */
const LOCAL_STOP_TIMEOUT_MS = 10_000;

/** Stops the `up --local` recorded for this stack directory (or user); false when there is none. */
async function downLocal(ctx: OutputContext, stackDirWithManifest: string | undefined): Promise<boolean> {
  const { answersAsItself, findLocalInstance, goneMessage, instanceJson } = await import('./local-instance.js');
  const { removeInstance, stopInstance } = await import('../local/lifecycle.js');
  const local = await findLocalInstance(stackDirWithManifest);
  if (!local) return false;
  const { instance } = local;
  if (local.state === 'gone') {
    if (ctx.json) ctx.emitJson({ ok: true, servedBy: 'up --local', stopped: false, local: instanceJson(local) });
    else ctx.out(`${mark(ctx.style, 'pass')} Nothing to stop: ${goneMessage(local)}`);
    return true;
  }
  // A PID file outlives a reboot, and PIDs are reused: only signal a process that answers as this up --local.
  if (!(await answersAsItself(instance))) {
    throw new ActionError(
      `PID ${instance.pid} from ${local.pidFile} is alive, but nothing answers as loom-otel up --local on its health port ${instance.ports.collectorHealth}; down does not signal a process it cannot identify.`,
      `If PID ${instance.pid} is that up --local (hung), stop it with \`kill ${instance.pid}\`; if it is another program, delete ${local.pidFile}.`,
    );
  }
  if (!(await stopInstance(instance, LOCAL_STOP_TIMEOUT_MS))) {
    throw new ActionError(
      `loom-otel up --local (PID ${instance.pid}) did not stop within ${LOCAL_STOP_TIMEOUT_MS / 1000} s of SIGTERM.`,
      `Stop it with \`kill -9 ${instance.pid}\`; \`loom-otel status\` then removes its PID file.`,
    );
  }
  await removeInstance(path.dirname(local.pidFile), instance.pid);
  if (ctx.json) {
    ctx.emitJson({ ok: true, servedBy: 'up --local', stopped: true, local: { ...instanceJson(local), running: false } });
    return true;
  }
  ctx.out(`${mark(ctx.style, 'pass')} Stopped loom-otel up --local (PID ${instance.pid}); its traces were in memory and are gone with it.`);
  if (instance.logFile) ctx.out(`  Its log, ending with a summary of what it received: ${instance.logFile}`);
  return true;
}
