/**
 * The Kubernetes side of the stack model: namespace, workload resources, users, probes and the names the
 * manifests, the collector config and the checks share. Pure data; src/stack/render/kubernetes.ts turns
 * it into a Kustomize directory.
 */
import { ActionError } from '../errors.js';
import { CONTAINER_PORTS, SERVICE_NAMES, stackTarget, type KubernetesOptions, type PartName, type StackModel, type StackOptions } from './model.js';

export const DEFAULT_KUBERNETES_OPTIONS: Readonly<KubernetesOptions> = {
  namespace: 'observability',
  collector: 'deployment',
  prometheus: 'deployment',
  prometheusRelease: 'kube-prometheus-stack',
  prometheusNamespace: 'monitoring',
  grafana: 'deployment',
  helmValues: false,
};

export const COLLECTOR_MODES = ['deployment', 'operator'] as const;
export const PROMETHEUS_MODES = ['deployment', 'operator'] as const;
export const GRAFANA_MODES = ['deployment', 'sidecar'] as const;

/** A Kubernetes resource size, in the units the manifests write. */
export interface PartResources {
  requests: { cpu: string; memoryMiB: number };
  limits: { cpu: string; memoryMiB: number };
}

/**
 * Requests and limits per part. Sized for a team's agents, not a fleet: the collector's memory_limiter
 * and GOMEMLIMIT are derived from its limit, Jaeger's from its in-memory trace cap (50 000 traces).
 */
export const KUBERNETES_RESOURCES: Readonly<Record<PartName, PartResources>> = {
  collector: { requests: { cpu: '100m', memoryMiB: 256 }, limits: { cpu: '1', memoryMiB: 512 } },
  jaeger: { requests: { cpu: '100m', memoryMiB: 256 }, limits: { cpu: '1', memoryMiB: 1024 } },
  prometheus: { requests: { cpu: '200m', memoryMiB: 512 }, limits: { cpu: '1', memoryMiB: 2048 } },
  grafana: { requests: { cpu: '100m', memoryMiB: 128 }, limits: { cpu: '500m', memoryMiB: 512 } },
};

/** The user each image runs as (from its official Dockerfile): all non-root. */
export const RUN_AS_USER: Readonly<Record<PartName, number>> = {
  collector: 10001,
  jaeger: 10001,
  prometheus: 65534,
  grafana: 472,
};

/** Prometheus' volume, and the TSDB size cap that keeps it from filling the claim. */
export const PROMETHEUS_STORAGE = { claim: 'prometheus-data', sizeGi: 10, retentionSize: '8GB' } as const;

/** The OpenTelemetry Operator names the Deployment and Service of a collector `<name>-collector`. */
export const OPERATOR_COLLECTOR_NAME = 'otel';

/**
 * The collector's memory_limiter from its memory limit: refuse data at 80% of the limit, with a spike
 * allowance of 25%, as the percentages of the compose config do with the container's memory.
 */
export function collectorMemoryLimiter(): { check_interval: string; limit_mib: number; spike_limit_mib: number } {
  const limit = KUBERNETES_RESOURCES.collector.limits.memoryMiB;
  return { check_interval: '1s', limit_mib: Math.floor(limit * 0.8), spike_limit_mib: Math.floor(limit * 0.25) };
}

/** Go's soft memory limit for the collector: the memory_limiter's threshold, so GC works hard before data is refused. */
export function collectorGoMemLimit(): string {
  return `${collectorMemoryLimiter().limit_mib}MiB`;
}

export function isKubernetes(options: Pick<StackOptions, 'target'>): boolean {
  return stackTarget(options) === 'kubernetes';
}

/** The Kubernetes options of a stack (defaults filled in), or undefined for a compose stack. */
export function kubernetesOptions(options: Pick<StackOptions, 'target' | 'kubernetes'>): KubernetesOptions | undefined {
  return isKubernetes(options) ? { ...DEFAULT_KUBERNETES_OPTIONS, ...options.kubernetes } : undefined;
}

/** `<service>.<namespace>.svc`: how a pod in another namespace reaches a Service of the stack. */
export function clusterHost(namespace: string, service: string): string {
  return `${service}.${namespace}.svc`;
}

/** The endpoint an agent in the cluster sets as OTEL_EXPORTER_OTLP_ENDPOINT (OTLP/gRPC). */
export function inClusterOtlpEndpoint(model: StackModel): string | undefined {
  const kube = kubernetesOptions(model.options);
  if (!kube) return undefined;
  return `http://${clusterHost(kube.namespace, SERVICE_NAMES.collector)}:${CONTAINER_PORTS.otlpGrpc}`;
}

/** The DNS-1123 label rule Kubernetes applies to namespace and Service names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function dnsLabelProblem(value: string, maxLength = 63): string | undefined {
  if (value.length <= maxLength && DNS_LABEL.test(value)) return undefined;
  return `"${value}" is not a valid Kubernetes name: use at most ${maxLength} lowercase letters, digits and '-', starting and ending with a letter or digit.`;
}

/** What `up`, `status` and `down` tell about a Kubernetes stack: kubectl, not a container engine, runs it. */
export function kubectlInstead(command: 'up' | 'status' | 'down', options: Pick<StackOptions, 'target' | 'kubernetes'>, dir: string): ActionError | undefined {
  const kube = kubernetesOptions(options);
  if (!kube) return undefined;
  const commands = {
    up: `kubectl apply -k ${dir}`,
    status: `kubectl -n ${kube.namespace} get deployments,pods,services`,
    down: `kubectl delete -k ${dir}`,
  };
  return new ActionError(
    `${dir} is a Kubernetes stack (init --target kubernetes): \`loom-otel ${command}\` runs Compose stacks only; Kubernetes stacks are applied with \`kubectl apply -k ${dir}\`.`,
    `Run: ${commands[command]}`,
  );
}
