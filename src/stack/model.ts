/**
 * The one typed model of the observability stack. The compose file, the collector config, Prometheus,
 * Grafana, the stack manifest and every health check are derived from it, so they cannot disagree.
 */

/** Images, pinned to exact tags (never `latest`). Update them here and nowhere else. */
export const IMAGES = {
  collector: 'otel/opentelemetry-collector-contrib:0.158.0',
  jaeger: 'jaegertracing/jaeger:2.13.0',
  prometheus: 'prom/prometheus:v3.13.1',
  grafana: 'grafana/grafana:12.2.1',
} as const;

/** The collector distribution the generated config targets (its manifest lists the components it has). */
export const COLLECTOR_DISTRIBUTION = { name: 'otelcol-contrib', version: '0.158.0' } as const;

export type PartName = keyof typeof IMAGES;
/** The parts a user may leave out; the collector always stays. */
export type OptionalPartName = Exclude<PartName, 'collector'>;
export const OPTIONAL_PARTS: readonly OptionalPartName[] = ['jaeger', 'prometheus', 'grafana'];

/** Every port the stack publishes on the host, by role. Container-side ports are fixed in CONTAINER_PORTS. */
export interface HostPorts {
  /** Collector OTLP/gRPC receiver. */
  otlpGrpc: number;
  /** Collector OTLP/HTTP receiver. */
  otlpHttp: number;
  /** Collector health_check extension. */
  collectorHealth: number;
  /** Collector `prometheus` exporter: spanmetrics and application metrics. */
  collectorMetrics: number;
  /** Jaeger UI and query API. */
  jaegerUi: number;
  /** Prometheus UI and API. */
  prometheus: number;
  /** Grafana UI. */
  grafana: number;
}
export type PortRole = keyof HostPorts;

export const DEFAULT_HOST_PORTS: Readonly<HostPorts> = {
  otlpGrpc: 4317,
  otlpHttp: 4318,
  collectorHealth: 13133,
  collectorMetrics: 8889,
  jaegerUi: 16686,
  prometheus: 9090,
  grafana: 3000,
};

/** Ports inside the containers (and on the compose network). These never change. */
export const CONTAINER_PORTS = {
  ...DEFAULT_HOST_PORTS,
  /** Collector self-metrics (scraped over the compose network only, not published). */
  collectorSelfMetrics: 8888,
  /** Jaeger's own OTLP/gRPC receiver, fed by the collector's `otlp/jaeger` exporter. */
  jaegerOtlpGrpc: 4317,
  /** Jaeger's healthcheckv2 extension (/status), reachable on the compose network only. */
  jaegerHealth: 13133,
} as const;

/** The command-line flag that sets each host port; used in messages that name the flag to change. */
export const PORT_FLAGS: Readonly<Record<PortRole, string>> = {
  otlpGrpc: '--otlp-grpc-port',
  otlpHttp: '--otlp-http-port',
  collectorHealth: '--health-port',
  collectorMetrics: '--metrics-port',
  jaegerUi: '--jaeger-port',
  prometheus: '--prometheus-port',
  grafana: '--grafana-port',
};

/** Which part owns each host port: a port of a part that is left out is not published. */
export const PORT_OWNER: Readonly<Record<PortRole, PartName>> = {
  otlpGrpc: 'collector',
  otlpHttp: 'collector',
  collectorHealth: 'collector',
  collectorMetrics: 'collector',
  jaegerUi: 'jaeger',
  prometheus: 'prometheus',
  grafana: 'grafana',
};

/** The ports `loom-otel up --local` serves in-process: the collector's and Jaeger's query API (no Prometheus, no Grafana). */
export type LocalPortRole = Extract<PortRole, 'otlpGrpc' | 'otlpHttp' | 'jaegerUi' | 'collectorMetrics' | 'collectorHealth'>;
export const LOCAL_PORT_ROLES: readonly LocalPortRole[] = ['otlpGrpc', 'otlpHttp', 'jaegerUi', 'collectorMetrics', 'collectorHealth'];

/** Where the stack runs: Docker Compose on one machine, or a Kustomize directory for Kubernetes. */
export type StackTarget = 'compose' | 'kubernetes';
export const STACK_TARGETS: readonly StackTarget[] = ['compose', 'kubernetes'];

/** The Kubernetes target's choices (see src/stack/kubernetes.ts). */
export interface KubernetesOptions {
  namespace: string;
  /** Our collector Deployment, or an OpenTelemetry Operator `OpenTelemetryCollector`. */
  collector: 'deployment' | 'operator';
  /** Our Prometheus, or a ServiceMonitor for a kube-prometheus-stack installation. */
  prometheus: 'deployment' | 'operator';
  /** kube-prometheus-stack's Helm release: the `release` label its Prometheus selects ServiceMonitors by. */
  prometheusRelease: string;
  /** Namespace of kube-prometheus-stack's Prometheus (its `prometheus-operated` Service), for Jaeger and Grafana. */
  prometheusNamespace: string;
  /** Our Grafana, or labelled ConfigMaps for the Grafana chart's sidecar. */
  grafana: 'deployment' | 'sidecar';
  /** Also write values.yaml for the official opentelemetry-collector Helm chart. */
  helmValues: boolean;
}

/** Everything a user chooses in `init`. Recorded in the stack manifest; the same options render the same files. */
export interface StackOptions {
  /** Absent in manifests written before targets existed: those are compose stacks. */
  target?: StackTarget;
  /** Set when target is kubernetes. */
  kubernetes?: KubernetesOptions;
  /** Compose project name (`name:`), also the prefix of container and volume names. */
  name: string;
  parts: Record<OptionalPartName, boolean>;
  ports: HostPorts;
  /** Publish host ports on all interfaces instead of 127.0.0.1. */
  expose: boolean;
  /** Default for DEPLOYMENT_ENV -> resource attribute deployment.environment. */
  environment: string;
  /** Percentage of traces kept, 0-100. 100 means no sampler in the pipeline. */
  samplingPercent: number;
}

/** The variable Loom (and the generated collector) read for the resource attribute deployment.environment. */
export const DEPLOYMENT_ENV_VAR = 'DEPLOYMENT_ENV';

export const DEFAULT_OPTIONS: Readonly<StackOptions> = {
  target: 'compose',
  name: 'loom-observability',
  parts: { jaeger: true, prometheus: true, grafana: true },
  ports: { ...DEFAULT_HOST_PORTS },
  expose: false,
  environment: 'development',
  samplingPercent: 100,
};

export function stackTarget(options: Pick<StackOptions, 'target'>): StackTarget {
  return options.target ?? 'compose';
}

/** Compose service names: also the host names parts use to reach each other on the compose network. */
export const SERVICE_NAMES: Readonly<Record<PartName, string>> = {
  collector: 'otel-collector',
  jaeger: 'jaeger',
  prometheus: 'prometheus',
  grafana: 'grafana',
};

export interface PublishedPort {
  role: PortRole;
  host: number;
  container: number;
  /** Host address the port is bound to: 127.0.0.1 unless --expose. */
  hostIp: string;
  description: string;
}

/** How the host checks that a part is healthy. */
export interface HealthProbe {
  kind: 'http' | 'otlp-grpc';
  /** URL polled from the host (for `otlp-grpc`, the endpoint an empty Export goes to). */
  url: string;
  /** What a healthy answer looks like, for messages. */
  expect: string;
}

/** Header on `up --local`'s health_check answer, so the checks can tell the in-process stack from Docker's. */
export const LOCAL_STACK_HEADER = { name: 'x-loom-otel', value: 'local' } as const;
/** Header on the same answer naming the process, so a second `up --local` can say which one holds the ports. */
export const LOCAL_STACK_PID_HEADER = 'x-loom-otel-pid';

export interface StackPart {
  name: PartName;
  service: string;
  image: string;
  ports: PublishedPort[];
  probes: HealthProbe[];
  /** URL a person opens (UI), when the part has one. */
  uiUrl?: string;
}

/** Fixed Grafana uids, so links into Grafana (and between its datasources) are stable across re-renders. */
export const GRAFANA_UIDS = {
  prometheusDatasource: 'loom-prometheus',
  jaegerDatasource: 'loom-jaeger',
  agentsDashboard: 'loom-agents',
} as const;

export interface StackModel {
  options: StackOptions;
  parts: StackPart[];
  /** Where an agent on the host sends OTLP. */
  otlp: { grpcEndpoint: string; httpEndpoint: string };
  /** The Loom agents dashboard, when Grafana and Prometheus are part of the stack. */
  dashboardUrl?: string;
  has(part: PartName): boolean;
  part(name: PartName): StackPart | undefined;
}

export const PORT_DESCRIPTIONS: Readonly<Record<PortRole, string>> = {
  otlpGrpc: 'OTLP gRPC',
  otlpHttp: 'OTLP HTTP',
  collectorHealth: 'collector health_check',
  collectorMetrics: 'spanmetrics + app metrics (Prometheus exposition)',
  jaegerUi: 'Jaeger UI + query API',
  prometheus: 'Prometheus UI + API',
  grafana: 'Grafana UI',
};

/** Host-side address used in URLs: always loopback, which also reaches ports published on all interfaces. */
const HOST = '127.0.0.1';

export function isPartEnabled(options: StackOptions, part: PartName): boolean {
  return part === 'collector' || options.parts[part];
}

/** Builds the model from validated options. Pure: no I/O. */
export function buildStackModel(options: StackOptions): StackModel {
  const hostIp = options.expose ? '0.0.0.0' : HOST;
  const published = (part: PartName): PublishedPort[] =>
    (Object.keys(PORT_OWNER) as PortRole[])
      .filter((role) => PORT_OWNER[role] === part)
      .map((role) => ({
        role,
        host: options.ports[role],
        container: CONTAINER_PORTS[role],
        hostIp,
        description: PORT_DESCRIPTIONS[role],
      }));
  const url = (role: PortRole, path = '') => `http://${HOST}:${options.ports[role]}${path}`;

  const all: StackPart[] = [
    {
      name: 'collector',
      service: SERVICE_NAMES.collector,
      image: IMAGES.collector,
      ports: published('collector'),
      probes: [
        { kind: 'http', url: url('collectorHealth', '/'), expect: '200 from the health_check extension' },
        { kind: 'otlp-grpc', url: url('otlpGrpc'), expect: 'an empty OTLP Export answered OK' },
      ],
    },
    {
      name: 'jaeger',
      service: SERVICE_NAMES.jaeger,
      image: IMAGES.jaeger,
      ports: published('jaeger'),
      probes: [{ kind: 'http', url: url('jaegerUi', '/api/services'), expect: '200 with a JSON list of services' }],
      uiUrl: url('jaegerUi', '/'),
    },
    {
      name: 'prometheus',
      service: SERVICE_NAMES.prometheus,
      image: IMAGES.prometheus,
      ports: published('prometheus'),
      probes: [{ kind: 'http', url: url('prometheus', '/-/ready'), expect: '200 when Prometheus is ready' }],
      uiUrl: url('prometheus', '/'),
    },
    {
      name: 'grafana',
      service: SERVICE_NAMES.grafana,
      image: IMAGES.grafana,
      ports: published('grafana'),
      probes: [{ kind: 'http', url: url('grafana', '/api/health'), expect: '200 with database "ok"' }],
      uiUrl: url('grafana', '/'),
    },
  ];
  const parts = all.filter((p) => isPartEnabled(options, p.name));
  return {
    options,
    parts,
    otlp: { grpcEndpoint: url('otlpGrpc'), httpEndpoint: url('otlpHttp') },
    ...(options.parts.grafana && options.parts.prometheus
      ? { dashboardUrl: url('grafana', `/d/${GRAFANA_UIDS.agentsDashboard}`) }
      : {}),
    has: (name) => parts.some((p) => p.name === name),
    part: (name) => parts.find((p) => p.name === name),
  };
}
