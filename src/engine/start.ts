/**
 * Starting the generated stack on a container engine, as `loom-otel up` does it: find the engine and check
 * it runs, check the compose file and the host ports, `compose up -d`, then wait until every part is
 * healthy while watching for containers that stop. Progress goes to the hooks; nothing here prints.
 */
import { waitUntilHealthy, type PartHealth } from '../checks/health.js';
import type { StackModel } from '../stack/model.js';
import { composeArgv, composeLogs, composeProject, composePs, composeUp, requireComposeFile, type ServiceState } from './compose.js';
import { detectEngine, ensureEngineRunning, type Engine, type EngineName } from './engine.js';
import { portConflictError } from './failures.js';
import { findPortConflicts } from './ports.js';

/** How many of its last log lines a failed part reports. */
export const FAILURE_LOG_LINES = 20;

export interface StartInput {
  model: StackModel;
  /** Absolute stack directory. */
  dir: string;
  /** The engine asked for with --engine; found automatically when absent. */
  engineChoice?: EngineName;
  /** An engine already found and checked to be running (up checks it before writing a stack). */
  engine?: Engine;
  /** How long every part gets to turn healthy. */
  timeoutMs: number;
}

/** Progress, for a display; each is called at most once except the per-line and per-check ones. */
export interface StartHooks {
  /** The checks passed and `compose up -d` runs now (the first start pulls the images: minutes). */
  onComposeUp?: (engine: Engine) => void;
  /** Each line Compose prints during `up -d`. */
  onComposeOutput?: (line: string) => void;
  /** `up -d` has returned, whether it succeeded or not. */
  onComposeDone?: () => void;
  /** `up -d` succeeded; waiting for health begins. */
  onHealthWait?: () => void;
  /** After every health check of a part. */
  onHealthUpdate?: (health: PartHealth) => void;
  /** Waiting is over; the logs of failed parts are read next. */
  onHealthWaitDone?: () => void;
}

export interface PartFailure {
  part: string;
  service: string;
  /** Why it failed: its container's state when it stopped, then the last probe's reason. */
  detail: string;
  /** The last FAILURE_LOG_LINES lines of its log (empty when it has none). */
  log: string;
  /** The command that shows that log, for the user to run. */
  logCommand: string;
}

export interface StartResult {
  engine: Engine;
  results: PartHealth[];
  /** Empty when every part turned healthy. */
  failures: PartFailure[];
  /** The failures are containers that stopped (rather than parts still not healthy at the timeout). */
  crashed: boolean;
}

/**
 * Starts the stack and waits for it. Throws ActionError when it cannot start (no engine, missing compose
 * file, taken ports, a failed `up -d`); parts that do not turn healthy are returned as failures.
 */
export async function startStack(input: StartInput, hooks: StartHooks = {}): Promise<StartResult> {
  const { model, dir, timeoutMs } = input;
  const engine = input.engine ?? (await detectEngine(input.engineChoice));
  if (!input.engine) await ensureEngineRunning(engine);
  const project = composeProject(engine, dir);
  await requireComposeFile(project);

  // Ports held by this stack's own running containers (an `up` of a stack that is up) are not conflicts.
  // A Compose whose `ps` fails here still gets to run `up`, which reports real problems itself.
  const containers = await composePs(project).catch(() => []);
  const running = new Set(containers.filter((s) => s.running).map((s) => s.service));
  const conflicts = await findPortConflicts(model, running, engine);
  if (conflicts.length > 0) throw portConflictError(model, dir, conflicts);

  hooks.onComposeUp?.(engine);
  try {
    await composeUp(project, model, hooks.onComposeOutput);
  } finally {
    hooks.onComposeDone?.();
  }

  hooks.onHealthWait?.();
  const crashes = watchForCrashes(() => composePs(project), model.parts.map((p) => p.service));
  const results = await waitUntilHealthy(model, { timeoutMs, onUpdate: hooks.onHealthUpdate, signal: crashes.signal });
  crashes.stop();
  hooks.onHealthWaitDone?.();

  const unhealthy = results.filter((r) => !r.healthy);
  // When a container stopped, its log is the one that explains; the others were cut short, not broken.
  const crashedParts = unhealthy.filter((r) => crashes.states.has(r.part.service));
  const failures = await Promise.all(
    (crashedParts.length > 0 ? crashedParts : unhealthy).map(async (r): Promise<PartFailure> => {
      const state = crashes.states.get(r.part.service);
      const detail = state ? `its container ${state.state}${state.exitCode !== undefined ? ` (exit code ${state.exitCode})` : ''}; last probe: ${r.detail}` : r.detail;
      return {
        part: r.part.name,
        service: r.part.service,
        detail,
        log: await composeLogs(project, r.part.service, FAILURE_LOG_LINES),
        logCommand: composeArgv(project, ['logs', '--tail', String(FAILURE_LOG_LINES), r.part.service]).join(' '),
      };
    }),
  );
  return { engine, results, failures, crashed: crashedParts.length > 0 };
}

type ContainerState = Pick<ServiceState, 'state' | 'exitCode'>;

/**
 * While waiting for health, asks Compose every 2 s whether a container of the stack has stopped or keeps
 * restarting; then waiting longer cannot help, and `signal` aborts the wait.
 */
function watchForCrashes(
  listContainers: () => Promise<ServiceState[]>,
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
