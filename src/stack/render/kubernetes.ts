/**
 * The Kubernetes target: a Kustomize directory rendered from the same model as the compose stack. The
 * ConfigMaps hold the very collector, Jaeger, Prometheus and Grafana files the compose stack mounts; the
 * Services carry the compose service names, so those files resolve the same names inside the namespace.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import {
  clusterHost,
  collectorGoMemLimit,
  kubernetesOptions,
  KUBERNETES_RESOURCES,
  OPERATOR_COLLECTOR_NAME,
  PROMETHEUS_STORAGE,
  RUN_AS_USER,
} from '../kubernetes.js';
import { CONTAINER_PORTS, DEPLOYMENT_ENV_VAR, IMAGES, SERVICE_NAMES, type KubernetesOptions, type PartName, type StackModel } from '../model.js';
import { buildCollectorConfig, COLLECTOR_CONFIG_PATH, renderCollectorConfig } from './collector.js';
import { renderDashboard } from './dashboard.js';
import { grafanaEnvironment } from './compose.js';
import { GRAFANA_ADMIN_USER, GRAFANA_PASSWORD_VAR, GRAFANA_USER_VAR } from './env.js';
import {
  GRAFANA_DASHBOARD_FILE,
  GRAFANA_DASHBOARDS_PATH,
  GRAFANA_PROVISIONING_PATH,
  renderDashboardProvider,
  renderDatasources,
} from './grafana.js';
import { JAEGER_CONFIG_PATH, JAEGER_SELF_METRICS_PORT, renderJaegerConfig } from './jaeger.js';
import { PROMETHEUS_CONFIG_PATH, renderPrometheusConfig, SCRAPE_INTERVAL } from './prometheus.js';
import { renderYaml } from './yaml.js';
import { LOG_FILE, PID_FILE } from '../../local/lifecycle.js';

export const KUSTOMIZATION_FILE = 'kustomization.yaml';
export const NAMESPACE_FILE = 'namespace.yaml';
export const GRAFANA_SECRET_FILE = 'grafana-secret.yaml';
export const HELM_VALUES_FILE = 'values.yaml';
/** Mode of the file that holds the Grafana password. */
export const SECRET_FILE_MODE = 0o600;
/** The Secret the Grafana Deployment reads its login from. */
export const GRAFANA_SECRET_NAME = 'grafana-admin';
/** The manifest file of each part. */
export const PART_FILES: Readonly<Record<PartName, string>> = {
  collector: 'collector.yaml',
  jaeger: 'jaeger.yaml',
  prometheus: 'prometheus.yaml',
  grafana: 'grafana.yaml',
};
export const SERVICE_MONITOR_FILE = 'servicemonitor.yaml';
export const GRAFANA_SIDECAR_FILE = 'grafana-sidecar.yaml';
/** The ConfigMap (and its key) that holds the collector config. */
export const COLLECTOR_CONFIGMAP = { name: `${SERVICE_NAMES.collector}-config`, key: path.posix.basename(COLLECTOR_CONFIG_PATH) } as const;
/** The extra Service that `--expose` adds: OTLP only, as a LoadBalancer; the metrics stay inside the cluster. */
export const COLLECTOR_EXTERNAL_SERVICE = `${SERVICE_NAMES.collector}-external`;

type Manifest = Record<string, unknown>;

/** A manifest file's documents (`---` separated), the first with a header comment. */
export interface ManifestFile {
  path: string;
  purpose: string;
  header: string;
  documents: Manifest[];
  /** 0o600 for files that hold secrets. */
  mode?: number;
}

function labels(model: StackModel, name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': model.options.name };
}

function metadata(model: StackModel, kube: KubernetesOptions, name: string, extra: Manifest = {}): Manifest {
  return { name, namespace: kube.namespace, labels: labels(model, name), ...extra };
}

function resources(part: PartName): Manifest {
  const { requests, limits } = KUBERNETES_RESOURCES[part];
  return {
    requests: { cpu: requests.cpu, memory: `${requests.memoryMiB}Mi` },
    limits: { cpu: limits.cpu, memory: `${limits.memoryMiB}Mi` },
  };
}

function podSecurity(part: PartName): Manifest {
  const id = RUN_AS_USER[part];
  return { runAsNonRoot: true, runAsUser: id, runAsGroup: id, fsGroup: id, seccompProfile: { type: 'RuntimeDefault' } };
}

function containerSecurity(readOnlyRootFilesystem: boolean): Manifest {
  return { allowPrivilegeEscalation: false, readOnlyRootFilesystem, capabilities: { drop: ['ALL'] } };
}

function httpProbes(pathName: string, port: string, readinessPath = pathName): Manifest {
  return {
    livenessProbe: { httpGet: { path: pathName, port }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
    readinessProbe: { httpGet: { path: readinessPath, port }, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 3 },
  };
}

function configMap(model: StackModel, kube: KubernetesOptions, name: string, data: Record<string, string>, extraLabels: Record<string, string> = {}): Manifest {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { ...metadata(model, kube, name), labels: { ...labels(model, name), ...extraLabels } }, data };
}

/** A short digest of a pod's config files: a changed ConfigMap then rolls the Deployment. */
function configDigest(...texts: string[]): string {
  const hash = createHash('sha256');
  for (const text of texts) hash.update(text);
  return hash.digest('hex').slice(0, 16);
}

interface WorkloadSpec {
  part: PartName;
  container: Manifest;
  volumes: Manifest[];
  configTexts: string[];
  /** Recreate for a part whose volume can be attached to one pod only. */
  recreate?: boolean;
}

function deployment(model: StackModel, kube: KubernetesOptions, spec: WorkloadSpec): Manifest {
  const name = SERVICE_NAMES[spec.part];
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(model, kube, name),
    spec: {
      replicas: 1,
      ...(spec.recreate ? { strategy: { type: 'Recreate' } } : {}),
      selector: { matchLabels: { 'app.kubernetes.io/name': name } },
      template: {
        metadata: { labels: labels(model, name), annotations: { 'loom-otel/config-sha256': configDigest(...spec.configTexts) } },
        spec: {
          automountServiceAccountToken: false,
          securityContext: podSecurity(spec.part),
          containers: [{ name, image: IMAGES[spec.part], ...spec.container, resources: resources(spec.part) }],
          volumes: spec.volumes,
        },
      },
    },
  };
}

interface ServicePort {
  name: string;
  port: number;
  appProtocol?: string;
}

function service(model: StackModel, kube: KubernetesOptions, name: string, selectorName: string, ports: ServicePort[], type = 'ClusterIP'): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(model, kube, name),
    spec: {
      type,
      selector: { 'app.kubernetes.io/name': selectorName },
      ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: 'TCP', ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) })),
    },
  };
}

const COLLECTOR_PORTS: ServicePort[] = [
  { name: 'otlp-grpc', port: CONTAINER_PORTS.otlpGrpc, appProtocol: 'grpc' },
  { name: 'otlp-http', port: CONTAINER_PORTS.otlpHttp, appProtocol: 'http' },
  { name: 'metrics', port: CONTAINER_PORTS.collectorMetrics },
  { name: 'self-metrics', port: CONTAINER_PORTS.collectorSelfMetrics },
];

function containerPorts(ports: ServicePort[]): Manifest[] {
  return ports.map((p) => ({ name: p.name, containerPort: p.port, protocol: 'TCP' }));
}

/** The collector's environment: DEPLOYMENT_ENV for the resource processor, GOMEMLIMIT from the memory limit. */
function collectorEnv(model: StackModel): Manifest[] {
  return [
    { name: DEPLOYMENT_ENV_VAR, value: model.options.environment },
    { name: 'GOMEMLIMIT', value: collectorGoMemLimit() },
  ];
}

function externalOtlpService(model: StackModel, kube: KubernetesOptions, selectorName: string): Manifest {
  return service(model, kube, COLLECTOR_EXTERNAL_SERVICE, selectorName, COLLECTOR_PORTS.slice(0, 2), 'LoadBalancer');
}

/**
 * `--collector operator`: an OpenTelemetryCollector the OpenTelemetry Operator turns into a Deployment and
 * a Service named <name>-collector (otel-collector, as ours), with the same config as an object. The
 * operator derives the OTLP ports and the health probes from the config; the metrics ports are listed.
 */
function operatorCollectorFile(model: StackModel, kube: KubernetesOptions): ManifestFile {
  const probe = { initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 };
  return {
    path: PART_FILES.collector,
    purpose: 'the collector as an OpenTelemetry Operator OpenTelemetryCollector (opentelemetry.io/v1beta1)',
    header: `OpenTelemetry Collector (contrib) for the OpenTelemetry Operator: it creates Deployment and Service ${SERVICE_NAMES.collector}.\nThe config is the one the compose stack mounts, as an object. Needs the operator's CRDs installed.`,
    documents: [
      {
        apiVersion: 'opentelemetry.io/v1beta1',
        kind: 'OpenTelemetryCollector',
        metadata: metadata(model, kube, OPERATOR_COLLECTOR_NAME),
        spec: {
          mode: 'deployment',
          replicas: 1,
          image: IMAGES.collector,
          env: collectorEnv(model),
          resources: resources('collector'),
          podSecurityContext: podSecurity('collector'),
          securityContext: containerSecurity(true),
          ports: [
            { name: 'metrics', port: CONTAINER_PORTS.collectorMetrics, protocol: 'TCP' },
            { name: 'self-metrics', port: CONTAINER_PORTS.collectorSelfMetrics, protocol: 'TCP' },
          ],
          livenessProbe: probe,
          readinessProbe: { ...probe, initialDelaySeconds: 5 },
          config: buildCollectorConfig(model),
        },
      },
      // The operator's pods carry app.kubernetes.io/name: <name>-collector, as ours do.
      ...(model.options.expose ? [externalOtlpService(model, kube, SERVICE_NAMES.collector)] : []),
    ],
  };
}

function collectorFile(model: StackModel, kube: KubernetesOptions): ManifestFile {
  if (kube.collector === 'operator') return operatorCollectorFile(model, kube);
  const config = renderCollectorConfig(model);
  const name = SERVICE_NAMES.collector;
  const workload = deployment(model, kube, {
    part: 'collector',
    configTexts: [config],
    container: {
      args: [`--config=${COLLECTOR_CONFIG_PATH}`],
      env: collectorEnv(model),
      ports: containerPorts([...COLLECTOR_PORTS, { name: 'health', port: CONTAINER_PORTS.collectorHealth }]),
      ...httpProbes('/', 'health'),
      securityContext: containerSecurity(true),
      volumeMounts: [{ name: 'config', mountPath: path.posix.dirname(COLLECTOR_CONFIG_PATH), readOnly: true }],
    },
    volumes: [{ name: 'config', configMap: { name: COLLECTOR_CONFIGMAP.name } }],
  });
  return {
    path: PART_FILES.collector,
    purpose: 'the collector: its config (ConfigMap), Deployment and Service',
    header: `OpenTelemetry Collector (contrib): ConfigMap ${COLLECTOR_CONFIGMAP.name} holds the same config the compose stack mounts.\nAgents in the cluster send OTLP to ${clusterHost(kube.namespace, name)}:${CONTAINER_PORTS.otlpGrpc} (gRPC) or :${CONTAINER_PORTS.otlpHttp} (HTTP).`,
    documents: [
      configMap(model, kube, COLLECTOR_CONFIGMAP.name, { [COLLECTOR_CONFIGMAP.key]: config }),
      workload,
      service(model, kube, name, name, COLLECTOR_PORTS),
      ...(model.options.expose ? [externalOtlpService(model, kube, name)] : []),
    ],
  };
}

function jaegerFile(model: StackModel, kube: KubernetesOptions): ManifestFile {
  const config = renderJaegerConfig(model);
  const name = SERVICE_NAMES.jaeger;
  const configMapName = `${name}-config`;
  const ports: ServicePort[] = [
    { name: 'query', port: CONTAINER_PORTS.jaegerUi, appProtocol: 'http' },
    { name: 'otlp-grpc', port: CONTAINER_PORTS.jaegerOtlpGrpc, appProtocol: 'grpc' },
    { name: 'self-metrics', port: JAEGER_SELF_METRICS_PORT },
  ];
  return {
    path: PART_FILES.jaeger,
    purpose: 'Jaeger v2: its config (ConfigMap), Deployment and Service',
    header: 'Jaeger v2: traces in memory, the UI and query API on :16686. Only the collector sends to it.',
    documents: [
      configMap(model, kube, configMapName, { [path.posix.basename(JAEGER_CONFIG_PATH)]: config }),
      deployment(model, kube, {
        part: 'jaeger',
        configTexts: [config],
        container: {
          args: ['--config', JAEGER_CONFIG_PATH],
          ports: containerPorts([...ports, { name: 'health', port: CONTAINER_PORTS.jaegerHealth }]),
          ...httpProbes('/status', 'health'),
          securityContext: containerSecurity(true),
          volumeMounts: [
            { name: 'config', mountPath: path.posix.dirname(JAEGER_CONFIG_PATH), readOnly: true },
            // The image declares VOLUME /tmp; with a read-only root it gets an emptyDir.
            { name: 'tmp', mountPath: '/tmp' },
          ],
        },
        volumes: [{ name: 'config', configMap: { name: configMapName } }, { name: 'tmp', emptyDir: {} }],
      }),
      service(model, kube, name, name, ports),
    ],
  };
}

/**
 * `--prometheus operator`: ServiceMonitors that kube-prometheus-stack's Prometheus picks up by their
 * `release` label, and a `prometheus` ExternalName Service to its `prometheus-operated` Service, so Jaeger's
 * Monitor tab and Grafana keep the URL they use everywhere else.
 */
function serviceMonitorFile(model: StackModel, kube: KubernetesOptions): ManifestFile {
  const monitor = (name: string, selector: Record<string, string>, endpoints: Manifest[]): Manifest => ({
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { ...metadata(model, kube, name), labels: { ...labels(model, name), release: kube.prometheusRelease } },
    spec: { selector: { matchLabels: selector }, endpoints },
  });
  const interval = SCRAPE_INTERVAL;
  // The operator also makes a headless copy of the collector Service: select the base one only.
  const collectorSelector = {
    'app.kubernetes.io/name': SERVICE_NAMES.collector,
    ...(kube.collector === 'operator' ? { 'operator.opentelemetry.io/collector-service-type': 'base' } : {}),
  };
  return {
    path: SERVICE_MONITOR_FILE,
    purpose: `ServiceMonitors for kube-prometheus-stack (release ${kube.prometheusRelease}) and the prometheus ExternalName Service`,
    header: `For kube-prometheus-stack (Helm release ${kube.prometheusRelease}, namespace ${kube.prometheusNamespace}): its Prometheus selects\nServiceMonitors labelled release: ${kube.prometheusRelease}. Needs the prometheus-operator CRDs installed.`,
    documents: [
      monitor(SERVICE_NAMES.collector, collectorSelector, [
        // honorLabels keeps the job/instance labels the exporter derives from each service, as prometheus.yml does.
        { port: 'metrics', honorLabels: true, interval },
        { port: 'self-metrics', interval },
      ]),
      ...(model.has('jaeger') ? [monitor(SERVICE_NAMES.jaeger, { 'app.kubernetes.io/name': SERVICE_NAMES.jaeger }, [{ port: 'self-metrics', interval }])] : []),
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: metadata(model, kube, SERVICE_NAMES.prometheus),
        spec: {
          type: 'ExternalName',
          externalName: `prometheus-operated.${kube.prometheusNamespace}.svc.cluster.local`,
          ports: [{ name: 'web', port: CONTAINER_PORTS.prometheus, protocol: 'TCP' }],
        },
      },
    ],
  };
}

function prometheusFile(model: StackModel, kube: KubernetesOptions): ManifestFile {
  if (kube.prometheus === 'operator') return serviceMonitorFile(model, kube);
  const config = renderPrometheusConfig(model);
  const name = SERVICE_NAMES.prometheus;
  const configMapName = `${name}-config`;
  const port: ServicePort = { name: 'web', port: CONTAINER_PORTS.prometheus, appProtocol: 'http' };
  return {
    path: PART_FILES.prometheus,
    purpose: 'Prometheus: its config (ConfigMap), a PersistentVolumeClaim for its data, Deployment and Service',
    header: `Prometheus scrapes the collector's spanmetrics; its data is kept in the ${PROMETHEUS_STORAGE.claim} claim (${PROMETHEUS_STORAGE.sizeGi}Gi, TSDB capped at ${PROMETHEUS_STORAGE.retentionSize}).`,
    documents: [
      configMap(model, kube, configMapName, { [path.posix.basename(PROMETHEUS_CONFIG_PATH)]: config }),
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: metadata(model, kube, PROMETHEUS_STORAGE.claim),
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: `${PROMETHEUS_STORAGE.sizeGi}Gi` } } },
      },
      deployment(model, kube, {
        part: 'prometheus',
        recreate: true,
        configTexts: [config],
        container: {
          args: [
            `--config.file=${PROMETHEUS_CONFIG_PATH}`,
            '--storage.tsdb.path=/prometheus',
            `--storage.tsdb.retention.size=${PROMETHEUS_STORAGE.retentionSize}`,
          ],
          ports: containerPorts([port]),
          ...httpProbes('/-/healthy', 'web', '/-/ready'),
          securityContext: containerSecurity(true),
          volumeMounts: [
            { name: 'config', mountPath: path.posix.dirname(PROMETHEUS_CONFIG_PATH), readOnly: true },
            { name: 'data', mountPath: '/prometheus' },
          ],
        },
        volumes: [{ name: 'config', configMap: { name: configMapName } }, { name: 'data', persistentVolumeClaim: { claimName: PROMETHEUS_STORAGE.claim } }],
      }),
      service(model, kube, name, name, [port]),
    ],
  };
}

const GRAFANA_CONFIGMAPS = {
  datasources: 'grafana-datasources',
  provider: 'grafana-dashboard-provider',
  dashboards: 'grafana-dashboards',
} as const;

function grafanaFile(model: StackModel, kube: KubernetesOptions): ManifestFile {
  const name = SERVICE_NAMES.grafana;
  const dashboards = model.has('prometheus');
  const datasources = renderDatasources(model);
  const provider = renderDashboardProvider();
  const dashboard = dashboards ? renderDashboard(model) : '';
  const dashboardFile = path.posix.basename(GRAFANA_DASHBOARD_FILE);
  const port: ServicePort = { name: 'http', port: CONTAINER_PORTS.grafana, appProtocol: 'http' };
  const secretEnv = (variable: string) => ({ name: variable, valueFrom: { secretKeyRef: { name: GRAFANA_SECRET_NAME, key: variable } } });
  return {
    path: PART_FILES.grafana,
    purpose: 'Grafana: datasources and the Loom agents dashboard (ConfigMaps), Deployment and Service',
    header: `Grafana with provisioned datasources${dashboards ? ' and the Loom agents dashboard' : ''}. The admin login is in the ${GRAFANA_SECRET_NAME} Secret (${GRAFANA_SECRET_FILE}).`,
    documents: [
      configMap(model, kube, GRAFANA_CONFIGMAPS.datasources, { 'loom.yaml': datasources }),
      ...(dashboards
        ? [
            configMap(model, kube, GRAFANA_CONFIGMAPS.provider, { 'loom.yaml': provider }),
            configMap(model, kube, GRAFANA_CONFIGMAPS.dashboards, { [dashboardFile]: dashboard }),
          ]
        : []),
      deployment(model, kube, {
        part: 'grafana',
        configTexts: [datasources, provider, dashboard],
        container: {
          env: [
            secretEnv(GRAFANA_USER_VAR),
            secretEnv(GRAFANA_PASSWORD_VAR),
            ...Object.entries(grafanaEnvironment(model)).map(([key, value]) => ({ name: key, value })),
          ],
          ports: containerPorts([port]),
          ...httpProbes('/api/health', 'http'),
          // Grafana's entrypoint and plugin installer write outside /var/lib/grafana: its chart keeps the root writable too.
          securityContext: containerSecurity(false),
          volumeMounts: [
            { name: 'datasources', mountPath: `${GRAFANA_PROVISIONING_PATH}/datasources`, readOnly: true },
            ...(dashboards
              ? [
                  { name: 'dashboard-provider', mountPath: `${GRAFANA_PROVISIONING_PATH}/dashboards`, readOnly: true },
                  { name: 'dashboards', mountPath: GRAFANA_DASHBOARDS_PATH, readOnly: true },
                ]
              : []),
            { name: 'data', mountPath: '/var/lib/grafana' },
          ],
        },
        volumes: [
          { name: 'datasources', configMap: { name: GRAFANA_CONFIGMAPS.datasources } },
          ...(dashboards
            ? [
                { name: 'dashboard-provider', configMap: { name: GRAFANA_CONFIGMAPS.provider } },
                { name: 'dashboards', configMap: { name: GRAFANA_CONFIGMAPS.dashboards } },
              ]
            : []),
          // Everything Grafana shows is provisioned from the ConfigMaps: its own database can start empty.
          { name: 'data', emptyDir: {} },
        ],
      }),
      service(model, kube, name, name, [port]),
    ],
  };
}

/**
 * `--grafana sidecar`: the datasources and the dashboard as ConfigMaps the Grafana chart's sidecar loads
 * (labels grafana_datasource / grafana_dashboard). That Grafana lives elsewhere: URLs name the namespace,
 * and the datasources are not default and carry a "Loom" prefix beside the ones it has.
 */
function grafanaSidecarFile(model: StackModel, kube: KubernetesOptions): ManifestFile {
  const placement = { host: (service: string) => clusterHost(kube.namespace, service), namePrefix: 'Loom ', mayBeDefault: false };
  const dashboards = model.has('prometheus');
  return {
    path: GRAFANA_SIDECAR_FILE,
    purpose: "datasources and the Loom agents dashboard for the Grafana chart's sidecar (labelled ConfigMaps)",
    header: "For the Grafana chart's sidecar (kube-prometheus-stack's Grafana): it loads ConfigMaps labelled grafana_datasource\nand grafana_dashboard. Set sidecar.datasources.searchNamespace and sidecar.dashboards.searchNamespace to ALL\n(or to this namespace) so it looks here.",
    documents: [
      configMap(model, kube, 'loom-grafana-datasources', { 'loom-datasources.yaml': renderDatasources(model, placement) }, { grafana_datasource: '1' }),
      ...(dashboards
        ? [configMap(model, kube, 'loom-grafana-dashboards', { [path.posix.basename(GRAFANA_DASHBOARD_FILE)]: renderDashboard(model) }, { grafana_dashboard: '1' })]
        : []),
    ],
  };
}

function grafanaSecretFile(model: StackModel, kube: KubernetesOptions, password: string): ManifestFile {
  return {
    path: GRAFANA_SECRET_FILE,
    purpose: 'the Grafana admin login (secret: mode 0600, ignored by git)',
    header: 'The Grafana admin login, generated by loom-otel init (re-running init keeps it).\nThis file is mode 0600 and ignored by git: keep it out of version control.',
    mode: SECRET_FILE_MODE,
    documents: [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: metadata(model, kube, GRAFANA_SECRET_NAME),
        type: 'Opaque',
        stringData: { [GRAFANA_USER_VAR]: GRAFANA_ADMIN_USER, [GRAFANA_PASSWORD_VAR]: password },
      },
    ],
  };
}

/** The Grafana password a rendered Secret file holds, so re-running init keeps the login that works. */
export function passwordFromSecretFile(text: string): string | undefined {
  const match = new RegExp(`^\\s*${GRAFANA_PASSWORD_VAR}:\\s*"?([A-Za-z0-9_-]+)"?\\s*$`, 'm').exec(text);
  return match?.[1];
}

export function renderManifestFile(file: ManifestFile): string {
  return file.documents.map((doc, index) => renderYaml(doc, { blankLines: false, ...(index === 0 ? { header: file.header } : {}) })).join('---\n');
}

/** The manifest files of a Kubernetes stack, in kustomization order. */
export function kubernetesManifests(model: StackModel, grafanaPassword: string | undefined): ManifestFile[] {
  const kube = kubernetesOptions(model.options);
  if (!kube) throw new Error('kubernetesManifests needs a stack whose target is kubernetes.');
  const files: ManifestFile[] = [
    {
      path: NAMESPACE_FILE,
      purpose: `the ${kube.namespace} namespace`,
      header: `The namespace of the stack (loom-otel init --namespace).`,
      documents: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: kube.namespace, labels: labels(model, kube.namespace) } }],
    },
    collectorFile(model, kube),
  ];
  if (model.has('jaeger')) files.push(jaegerFile(model, kube));
  if (model.has('prometheus')) files.push(prometheusFile(model, kube));
  if (model.has('grafana')) {
    if (kube.grafana === 'sidecar') files.push(grafanaSidecarFile(model, kube));
    else if (grafanaPassword === undefined) throw new Error('A Kubernetes stack with Grafana needs its admin password.');
    else files.push(grafanaFile(model, kube), grafanaSecretFile(model, kube, grafanaPassword));
  }
  return files;
}

export function renderKubernetesGitignore(): string {
  return [
    `# Generated by loom-otel init: the Grafana admin password lives in ${GRAFANA_SECRET_FILE};`,
    '# `loom-otel up --local` writes its PID file and (with --detach) its log here.',
    GRAFANA_SECRET_FILE,
    PID_FILE,
    LOG_FILE,
    '',
  ].join('\n');
}

export function renderKustomization(model: StackModel, files: readonly ManifestFile[]): string {
  const kube = kubernetesOptions(model.options) as KubernetesOptions;
  return renderYaml(
    { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', namespace: kube.namespace, resources: files.map((f) => f.path) },
    { blankLines: false, header: `Observability stack for Loom agents on Kubernetes, generated by loom-otel init.\nApply: kubectl apply -k <this directory>   Remove: kubectl delete -k <this directory>` },
  );
}

/**
 * `--helm-values`: values.yaml for the official open-telemetry/opentelemetry-collector chart, with our
 * config. The chart merges `config` into its own default config: a null removes one of its keys.
 */
export function renderHelmValues(model: StackModel): string {
  const [repository, tag] = IMAGES.collector.split(':') as [string, string];
  const config = buildCollectorConfig(model) as { processors: Record<string, unknown> };
  const values = {
    mode: 'deployment',
    // The Service is then otel-collector, the name Prometheus, Jaeger and agents use.
    fullnameOverride: SERVICE_NAMES.collector,
    image: { repository, tag },
    command: { name: 'otelcol-contrib' },
    replicaCount: 1,
    resources: resources('collector'),
    extraEnvs: collectorEnv(model),
    podSecurityContext: podSecurity('collector'),
    securityContext: containerSecurity(true),
    ports: {
      'jaeger-compact': { enabled: false },
      'jaeger-thrift': { enabled: false },
      'jaeger-grpc': { enabled: false },
      zipkin: { enabled: false },
      metrics: { enabled: true, containerPort: CONTAINER_PORTS.collectorSelfMetrics, servicePort: CONTAINER_PORTS.collectorSelfMetrics, protocol: 'TCP' },
      spanmetrics: { enabled: true, containerPort: CONTAINER_PORTS.collectorMetrics, servicePort: CONTAINER_PORTS.collectorMetrics, protocol: 'TCP' },
    },
    config: {
      ...config,
      // The chart's default memory_limiter uses percentages; ours is in MiB from the memory limit above.
      processors: { ...config.processors, memory_limiter: { ...(config.processors.memory_limiter as Manifest), limit_percentage: null, spike_limit_percentage: null } },
    },
  };
  return renderYaml(values, {
    blankLines: false,
    header:
      'Values for the open-telemetry/opentelemetry-collector Helm chart, generated by loom-otel init --helm-values:\n' +
      `  helm install otel-collector open-telemetry/opentelemetry-collector -n <namespace> -f values.yaml\n` +
      'The same collector as collector.yaml: install one or the other, not both.',
  });
}
