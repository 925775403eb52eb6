/**
 * Runs every doctor check concurrently, each bounded by one timeout, and returns the report as data:
 * 1 the endpoint and where each setting came from, 2 OTLP connectivity step by step, 3 the OTEL_*
 * settings an agent would inherit, 4 the stack's files and running parts, 5 the container engine.
 */
import { CliError, UsageError } from '../errors.js';
import { headerNames, resolveOtlpTraceSettings, resolveServiceName, type OtlpFlags } from '../otlp/settings.js';
import { findStack, type FoundStack } from '../stack/manifest.js';
import type { PartName } from '../stack/model.js';
import { isKubernetes } from '../stack/kubernetes.js';
import { lintAppSettings } from './app-settings.js';
import { detectContainer } from './container.js';
import { checkConnectivity, describeEndpoint } from './endpoint.js';
import { fail, info, skip, countChecks, type CheckCounts, type CheckGroup, type CheckResult } from './types.js';

export interface DoctorInput {
  /** --endpoint, --protocol, --header, --insecure. */
  flags: OtlpFlags;
  /** Bound of every check (--timeout). */
  timeoutMs: number;
  env: NodeJS.ProcessEnv;
  /** Absolute stack directory (--dir, else ./observability). */
  dir: string;
  /** --collector-config: lint this file only. */
  collectorConfig?: string;
  /** --collector-image: the image the collector config runs on. */
  collectorImage?: string;
  /** --in-container / --no-in-container; detected when undefined. */
  inContainer?: boolean;
}

export interface DoctorReport {
  ok: boolean;
  summary: CheckCounts;
  timeoutMs: number;
  durationMs: number;
  /** What was probed; header names only, never values. */
  endpoint?: { url: string; protocol: string; tls: boolean; headerNames: string[] };
  probe?: { ok: boolean; grpcStatus?: number; httpStatus?: number; routeStatus?: number; failure?: { kind: string; cause: string; fix: string } };
  stackDir?: string;
  groups: CheckGroup[];
}

const LOOM_SERVICE_FALLBACK = { value: 'loom-python', source: 'Loom default; agents: agent-<id>' };

export async function runDoctor(input: DoctorInput): Promise<DoctorReport> {
  const started = Date.now();
  if (input.collectorConfig !== undefined) {
    const { checkCollectorConfigFile } = await import('./stack.js');
    const checks = await checkCollectorConfigFile(input.collectorConfig, input.collectorImage);
    return report(started, input.timeoutMs, [{ id: 'stack', title: `Collector config ${input.collectorConfig}`, checks }]);
  }

  let stack: FoundStack | undefined;
  let stackProblem: CheckResult | undefined;
  try {
    stack = await findStack(input.dir);
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    stackProblem = fail('stack.manifest', 'Stack manifest', error.message, error.fix ?? 'Run `loom-otel init` again.');
  }

  const settings = resolveOtlpTraceSettings({ flags: input.flags, env: input.env, ...(stack ? { stack: stack.manifest.options } : {}) });
  const flagProblem = settings.problems.find((p) => p.variable.startsWith('--'));
  if (flagProblem) throw new UsageError(`${flagProblem.variable}: ${flagProblem.message}.`, flagProblem.fix);
  const endpointProblem = settings.problems.find((p) => /ENDPOINT$/.test(p.variable));
  const service = resolveServiceName(undefined, LOOM_SERVICE_FALLBACK, input.env);
  const container = await detectContainer(input.inContainer, input.env);

  const connectivity = checkConnectivity({
    settings,
    timeoutMs: input.timeoutMs,
    ...(endpointProblem ? { unusableBecause: `${endpointProblem.variable}: ${endpointProblem.message} (see the settings below)` } : {}),
  });
  const [connected, stackResult, engineResult] = await Promise.all([connectivity, ...stackAndEngine(stack, stackProblem, input)] as const);
  // After the probe: localhost that answered here is not "the container itself" with nothing in it.
  const lint = await lintAppSettings({
    env: input.env,
    container,
    ...(stack ? { stack: stack.manifest.options } : {}),
    ...(connected.probe?.ok ? { reached: settings.url.value } : {}),
  });
  const groups: CheckGroup[] = [
    { id: 'endpoint', title: 'Endpoint (what an agent here would use)', checks: describeEndpoint(settings, service) },
    { id: 'connectivity', title: `OTLP connectivity to ${settings.url.value}`, checks: connected.checks },
    { id: 'settings', title: "The application's OTEL_* settings", checks: [info('settings.context', 'Runs in a container', `${container.inContainer ? 'yes' : 'no'}: ${container.evidence}`), ...lint] },
    { id: 'stack', title: stack ? `Stack in ${stack.dir}` : 'Stack', checks: stackResult },
    { id: 'engine', title: 'Container engine', checks: engineResult },
  ];
  const failure = connected.probe?.failure;
  return report(started, input.timeoutMs, groups, {
    endpoint: { url: settings.url.value, protocol: settings.protocol.value, tls: settings.tls.value, headerNames: headerNames(settings) },
    ...(connected.probe
      ? {
          probe: {
            ok: connected.probe.ok,
            ...(connected.probe.grpcStatus !== undefined ? { grpcStatus: connected.probe.grpcStatus } : {}),
            ...(connected.probe.httpStatus !== undefined ? { httpStatus: connected.probe.httpStatus } : {}),
            ...(connected.probe.routeStatus !== undefined ? { routeStatus: connected.probe.routeStatus } : {}),
            ...(failure ? { failure: { kind: failure.kind, cause: failure.cause, fix: failure.fix } } : {}),
          },
        }
      : {}),
    ...(stack ? { stackDir: stack.dir } : {}),
  });
}

function report(started: number, timeoutMs: number, groups: CheckGroup[], extra: Partial<DoctorReport> = {}): DoctorReport {
  const summary = countChecks(groups);
  return { ok: summary.fail === 0, summary, timeoutMs, durationMs: Date.now() - started, ...extra, groups };
}

/**
 * Groups 4 and 5. They depend on each other: the running parts are judged with the services the engine
 * reports running, and host ports are checked only for parts that are not running. When `up --local`
 * serves the stack (one GET to the collector's health_check, alongside the rest), the parts it lacks are
 * skipped and the engine's answer is not waited for.
 */
function stackAndEngine(stack: FoundStack | undefined, problem: CheckResult | undefined, input: DoctorInput): [Promise<CheckResult[]>, Promise<CheckResult[]>] {
  if (problem) {
    // The manifest is there but unusable: the Stack group names the field and the fix; say so, once.
    return [Promise.resolve([problem]), Promise.resolve([skip('engine', 'Container engine', `not checked: the stack manifest in ${input.dir} cannot be used (see "${problem.title}" above)`)])];
  }
  if (!stack) {
    const where = `no stack manifest (loom-otel.json) in ${input.dir}`;
    return [
      Promise.resolve([skip('stack', 'Stack', `${where}: run \`loom-otel init\`, or give --dir`)]),
      Promise.resolve([skip('engine', 'Container engine', `${where}; the engine matters only for \`loom-otel up\``)]),
    ];
  }
  if (isKubernetes(stack.manifest.options)) {
    return [
      import('./kubernetes.js').then((m) => m.checkKubernetesStack(stack, input.collectorImage)),
      Promise.resolve([skip('engine', 'Container engine', 'a Kubernetes stack: kubectl applies it (`kubectl apply -k`), no local container engine runs it')]),
    ];
  }
  const servedLocally = import('./local-stack.js').then((m) => m.servedByLocalStack(stack.model, input.timeoutMs));
  const engineModule = import('./engine.js');
  const engineState = engineModule.then((m) => m.checkEngine(stack, input.timeoutMs));
  // Started before it is known whether anyone needs it; with up --local nobody waits for it.
  engineState.catch(() => undefined);
  const services = engineState.then((s) => s.running, () => undefined);
  const running = import('./running.js').then((m) => m.checkRunningParts(stack, input.timeoutMs, services, servedLocally));
  const files = import('./stack.js').then((m) => m.checkStackFiles(stack, input.collectorImage));
  const stackChecks = Promise.all([files, running]).then(([f, r]) => [...f.checks, ...r.checks]);
  const engineChecks = Promise.all([engineModule, servedLocally]).then(async ([m, local]) => {
    if (local) return m.checkHostPortsBesideLocalStack(stack, input.timeoutMs);
    const [state, parts] = await Promise.all([engineState, running]);
    const runningParts = new Set<PartName>([...parts.healthy, ...stack.model.parts.filter((p) => state.running?.has(p.service)).map((p) => p.name)]);
    return [...state.checks, ...(await m.checkHostPorts(stack, state.engine, runningParts, input.timeoutMs))];
  });
  return [stackChecks, engineChecks];
}
