/**
 * Stack options: validation of every value a user can give (flag or prompt answer) and the merge of
 * flags over a base (the existing stack manifest, else the defaults). Each check throws a UsageError
 * that names the flag and the fix, so bad input ends with exit 2 before anything is written.
 */
import { UsageError } from '../errors.js';
import { DEFAULT_KUBERNETES_OPTIONS, dnsLabelProblem } from './kubernetes.js';
import {
  DEFAULT_OPTIONS,
  isPartEnabled,
  PORT_FLAGS,
  PORT_OWNER,
  type HostPorts,
  type KubernetesOptions,
  type StackTarget,
  type OptionalPartName,
  type PortRole,
  type StackOptions,
} from './model.js';

/** What the command line (or the prompts) said; undefined means "not given". */
export interface OptionOverrides {
  target?: StackTarget;
  kubernetes?: Partial<KubernetesOptions>;
  name?: string;
  parts?: Partial<Record<OptionalPartName, boolean>>;
  ports?: Partial<HostPorts>;
  expose?: boolean;
  environment?: string;
  samplingPercent?: number;
}

export const PART_FLAGS: Readonly<Record<OptionalPartName, string>> = {
  jaeger: '--no-jaeger',
  prometheus: '--no-prometheus',
  grafana: '--no-grafana',
};

/** Compose's own rule for project names (compose-spec: "name"). */
const COMPOSE_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const ENVIRONMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Returns an error message for a bad compose project name, or undefined when it is fine. */
export function composeNameProblem(name: string): string | undefined {
  if (COMPOSE_NAME.test(name)) return undefined;
  const suggestion = name.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^[-_]+/, '');
  return (
    `"${name}" is not a valid Compose project name: use lowercase letters, digits, '-' and '_', starting with a letter or digit` +
    (suggestion && COMPOSE_NAME.test(suggestion) ? ` (for example "${suggestion}").` : '.')
  );
}

export function environmentProblem(environment: string): string | undefined {
  if (ENVIRONMENT_NAME.test(environment)) return undefined;
  return `"${environment}" is not a usable environment name: use up to 63 letters, digits, '.', '_' and '-', starting with a letter or digit.`;
}

export function samplingProblem(value: number): string | undefined {
  if (Number.isFinite(value) && value >= 0 && value <= 100) return undefined;
  return `the sampling percentage must be a number from 0 to 100, not "${value}".`;
}

export function portProblem(value: number): string | undefined {
  if (Number.isInteger(value) && value >= 1 && value <= 65535) return undefined;
  return `a port must be a whole number from 1 to 65535, not "${value}".`;
}

export function partsProblem(parts: Record<OptionalPartName, boolean>): string | undefined {
  if (parts.grafana && !parts.prometheus && !parts.jaeger) {
    return 'Grafana needs Prometheus or Jaeger to show anything, and both are left out.';
  }
  return undefined;
}

/** Host ports used by two enabled parts, as "flag a and flag b both use port N" messages. */
export function portClashes(options: Pick<StackOptions, 'parts' | 'ports'>): string[] {
  const byPort = new Map<number, PortRole[]>();
  for (const role of Object.keys(PORT_FLAGS) as PortRole[]) {
    if (!isPartEnabled(options as StackOptions, PORT_OWNER[role])) continue;
    const port = options.ports[role];
    byPort.set(port, [...(byPort.get(port) ?? []), role]);
  }
  return [...byPort.entries()]
    .filter(([, roles]) => roles.length > 1)
    .map(([port, roles]) => `${roles.map((r) => PORT_FLAGS[r]).join(' and ')} ${roles.length === 2 ? 'both' : 'all'} use host port ${port}`);
}

/** Merges overrides over a base and validates the result as a whole. */
export function resolveOptions(base: StackOptions, overrides: OptionOverrides): StackOptions {
  const target = overrides.target ?? base.target ?? 'compose';
  const kubernetesFlags = Object.keys(definedOnly(overrides.kubernetes ?? {}));
  if (target !== 'kubernetes' && kubernetesFlags.length > 0) {
    throw new UsageError(
      `${kubernetesFlags.map((key) => KUBERNETES_FLAGS[key as keyof KubernetesOptions]).join(', ')} only apply to Kubernetes stacks.`,
      'Add --target kubernetes, or leave those flags out.',
    );
  }
  const options: StackOptions = {
    target,
    ...(target === 'kubernetes'
      ? { kubernetes: { ...DEFAULT_KUBERNETES_OPTIONS, ...base.kubernetes, ...definedOnly(overrides.kubernetes ?? {}) } }
      : {}),
    name: overrides.name ?? base.name,
    parts: { ...base.parts, ...definedOnly(overrides.parts ?? {}) },
    ports: { ...base.ports, ...definedOnly(overrides.ports ?? {}) },
    expose: overrides.expose ?? base.expose,
    environment: overrides.environment ?? base.environment,
    samplingPercent: overrides.samplingPercent ?? base.samplingPercent,
  };
  validateOptions(options);
  return options;
}

/** The flag that sets each Kubernetes option, for messages. */
export const KUBERNETES_FLAGS: Readonly<Record<keyof KubernetesOptions, string>> = {
  namespace: '--namespace',
  collector: '--collector',
  prometheus: '--prometheus',
  prometheusRelease: '--prometheus-release',
  prometheusNamespace: '--prometheus-namespace',
  grafana: '--grafana',
  helmValues: '--helm-values',
};

export function validateOptions(options: StackOptions): void {
  if (options.kubernetes) {
    const namespace = dnsLabelProblem(options.kubernetes.namespace);
    if (namespace) throw new UsageError(`--namespace: ${namespace}`, 'For example --namespace observability.');
    // Helm keeps release names to 53 characters.
    const release = dnsLabelProblem(options.kubernetes.prometheusRelease, 53);
    if (release) throw new UsageError(`--prometheus-release: ${release}`, 'Give the Helm release name of your kube-prometheus-stack, e.g. --prometheus-release kube-prometheus-stack.');
    const prometheusNamespace = dnsLabelProblem(options.kubernetes.prometheusNamespace);
    if (prometheusNamespace) throw new UsageError(`--prometheus-namespace: ${prometheusNamespace}`, 'Give the namespace kube-prometheus-stack runs in, e.g. --prometheus-namespace monitoring.');
  }
  const nameProblem = composeNameProblem(options.name);
  if (nameProblem) throw new UsageError(`--name: ${nameProblem}`, 'Give --name a lowercase name such as "loom-observability".');
  const envProblem = environmentProblem(options.environment);
  if (envProblem) throw new UsageError(`--environment: ${envProblem}`, 'For example --environment staging.');
  const sampling = samplingProblem(options.samplingPercent);
  if (sampling) throw new UsageError(`--sampling: ${sampling}`, 'Give --sampling a value between 0 and 100 (100 keeps every trace).');
  for (const role of Object.keys(PORT_FLAGS) as PortRole[]) {
    const problem = portProblem(options.ports[role]);
    if (problem) throw new UsageError(`${PORT_FLAGS[role]}: ${problem}`, `Give ${PORT_FLAGS[role]} a port between 1 and 65535.`);
  }
  const parts = partsProblem(options.parts);
  if (parts) {
    throw new UsageError(
      `${PART_FLAGS.prometheus} and ${PART_FLAGS.jaeger} leave Grafana nothing to show: ${parts}`,
      `Add ${PART_FLAGS.grafana}, or keep Prometheus or Jaeger (drop ${PART_FLAGS.prometheus} or ${PART_FLAGS.jaeger}).`,
    );
  }
  const clashes = portClashes(options);
  if (clashes.length > 0) {
    throw new UsageError(`Two parts would publish the same host port: ${clashes.join('; ')}.`, 'Give one of them another port with its flag.');
  }
}

/** The options a fresh stack starts from. */
export function defaultOptions(): StackOptions {
  return structuredClone(DEFAULT_OPTIONS) as StackOptions;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
