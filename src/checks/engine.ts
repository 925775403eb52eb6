/**
 * Check group 5: a container engine with Compose, running, and (when the stack is down) every host port
 * the stack publishes free, with what holds a taken one. Built on src/engine/, which `up` uses, so doctor
 * and `up` judge the engine the same way; each step here is bounded by doctor's timeout.
 */
import { CliError } from '../errors.js';
import { composePs, composeProject } from '../engine/compose.js';
import { detectEngine, runCommand, composeLabel, type Engine } from '../engine/engine.js';
import { explainEngineFailure, lastLines } from '../engine/failures.js';
import { findPortConflicts } from '../engine/ports.js';
import type { FoundStack } from '../stack/manifest.js';
import { PORT_FLAGS, PORT_OWNER, type PartName } from '../stack/model.js';
import { LOCAL_STACK_PARTS } from './local-stack.js';
import { fail, pass, skip, type CheckResult } from './types.js';

export interface EngineState {
  checks: CheckResult[];
  /** Set only when it runs: a stuck or stopped engine cannot name port holders, asking it would wait again. */
  engine?: Engine;
  /** Compose services the engine reports running; undefined when it could not be asked. */
  running?: Set<string>;
}

/** The engine `up` would use for this stack: found, running, and which of the stack's services run. */
export async function checkEngine(stack: FoundStack, timeoutMs: number): Promise<EngineState> {
  const deadline = Date.now() + timeoutMs;
  const left = () => deadline - Date.now();
  const checks: CheckResult[] = [];
  let engine: Engine;
  try {
    engine = await detectEngine(undefined, { timeoutMs });
    checks.push(pass('engine.compose', 'Container engine with Compose', `${composeLabel(engine)} (Compose ${engine.version})`));
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    checks.push(fail('engine.compose', 'Container engine with Compose', error.message, error.fix ?? 'Install Docker with the Compose plugin, or Podman.'));
    checks.push(skip('engine.running', 'Engine running', 'no usable engine'));
    return { checks };
  }
  const result = await runCommand([engine.cli, 'info'], { timeoutMs: Math.max(1, left()) });
  if (result.exitCode !== 0 && !(result.missing && engine.name === 'docker-compose')) {
    const output = result.stderr || result.stdout;
    const explained = explainEngineFailure(engine, output);
    const detail =
      explained?.message ??
      (result.timedOut
        ? `\`${engine.cli} info\` did not answer within ${timeoutMs} ms: the engine is starting or stuck`
        : `\`${engine.cli} info\` failed (exit code ${result.exitCode})${output.trim() ? `: ${lastLines(output, 2)}` : ' without a message'}`);
    checks.push(fail('engine.running', 'Engine running', detail, explained?.fix ?? `Check that ${engine.cli} works: run \`${engine.cli} info\`.`));
    return { checks };
  }
  checks.push(pass('engine.running', 'Engine running', `${engine.cli} info answered`));
  try {
    const states = await composePs(composeProject(engine, stack.dir), Math.max(1, left()));
    return { checks, engine, running: new Set(states.filter((s) => s.running).map((s) => s.service)) };
  } catch {
    // Which services run is only a hint for the port check; the health probes still tell.
    return { checks, engine };
  }
}

/**
 * Host ports of parts that are not running must be free, or `up` fails. `running` holds the parts seen
 * running (healthy, or reported by the engine): their ports are in use by the stack itself.
 */
export async function checkHostPorts(stack: FoundStack, engine: Engine | undefined, running: Set<PartName>, timeoutMs: number): Promise<CheckResult[]> {
  const title = 'Host ports free';
  const stopped = stack.model.parts.filter((part) => !running.has(part.name));
  if (stopped.length === 0) return [skip('engine.ports', title, 'every part is running: the stack holds its own ports')];
  // findPortConflicts leaves out the ports of running services: the stack holds those itself.
  const conflicts = await findPortConflicts(stack.model, new Set(stack.model.parts.filter((p) => running.has(p.name)).map((p) => p.service)), engine, timeoutMs);
  if (conflicts.length === 0) {
    const ports = stopped.flatMap((part) => part.ports.map((p) => p.host));
    return [pass('engine.ports', title, `${ports.join(', ')} free for ${stopped.map((p) => p.name).join(', ')}`)];
  }
  return conflicts.map((c) =>
    fail(
      `engine.ports.${c.port}`,
      title,
      `port ${c.port} (${PORT_OWNER[c.role]}, ${c.role}) is taken${c.holder ? ` by ${c.holder}` : ''}: \`loom-otel up\` will fail`,
      `Stop what holds it${c.holder ? '' : ` (\`ss -ltnp 'sport = :${c.port}'\` shows it)`}, or move the stack: \`loom-otel init --dir ${stack.dir} ${PORT_FLAGS[c.role]} <free port>\`.`,
    ),
  );
}

/**
 * The engine group while `up --local` serves the stack: no engine is needed. The ports of the parts it
 * lacks (Prometheus, Grafana) are still checked, because `loom-otel up` needs them and up --local does not
 * hold them, but a taken one is a warning: it breaks nothing that runs now.
 */
export async function checkHostPortsBesideLocalStack(stack: FoundStack, timeoutMs: number): Promise<CheckResult[]> {
  const ports = await checkHostPorts(stack, undefined, new Set(LOCAL_STACK_PARTS), timeoutMs);
  return [
    skip('engine', 'Container engine', 'the stack is served by `loom-otel up --local` in-process, so no engine is needed'),
    ...ports.map((check): CheckResult => (check.status === 'fail' ? { ...check, status: 'warn' } : check.status === 'pass' ? { ...check, detail: `${check.detail} (for \`loom-otel up\`)` } : check)),
  ];
}
