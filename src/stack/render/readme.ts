/** README.md of the generated stack: what runs where, where the login is, how to point an agent at it, how to stop. */
import { agentEnvironment, exportLines } from '../agent-env.js';
import { clusterHost, inClusterOtlpEndpoint, kubernetesOptions, PROMETHEUS_STORAGE } from '../kubernetes.js';
import { MANIFEST_FILE } from '../manifest.js';
import { CONTAINER_PORTS, SERVICE_NAMES, type KubernetesOptions, type StackModel } from '../model.js';
import { COLLECTOR_EXTERNAL_SERVICE, GRAFANA_SECRET_FILE } from './kubernetes.js';
import { samplesJaegerTraces } from './collector.js';
import { VOLUMES } from './compose.js';
import { ENV_FILE, GRAFANA_ADMIN_USER, GRAFANA_PASSWORD_VAR } from './env.js';
import { fillTemplate, readTemplate } from './template.js';
import { TOKEN_TYPE_LABEL, TOKENS_SERIES } from '../tokens.js';

export const README_FILE = 'README.md';

/** A generated file and what it is for (listed in the README). */
export interface FileEntry {
  path: string;
  purpose: string;
}

function summaryOf(model: StackModel): string {
  const grafana = model.has('grafana');
  return (
    'An OpenTelemetry Collector (contrib) receives OTLP from your agents' +
    (model.has('jaeger') ? ', stores traces in Jaeger' : '') +
    ', derives RED metrics and LLM token counters from every span (span_metrics, signal_to_metrics)' +
    (model.has('prometheus') ? ' for Prometheus' : ' on its Prometheus exporter') +
    (grafana ? ', and Grafana shows them' + (model.dashboardUrl ? ' on the Loom agents dashboard' : '') : '') +
    '.'
  );
}

export function renderReadme(model: StackModel, files: readonly FileEntry[]): string {
  const { options } = model;
  const grafana = model.has('grafana');
  const summary = summaryOf(model);
  const volumes = [model.has('prometheus') ? VOLUMES.prometheus : '', grafana ? VOLUMES.grafana : '']
    .filter(Boolean)
    .map((volume) => `\`${options.name}_${volume}\``);
  return fillTemplate(readTemplate('stack/README.md'), {
    name: options.name,
    summary,
    exposure: options.expose
      ? 'Ports are published on **all interfaces** (`--expose`): anyone who can reach this machine can use them.'
      : 'Ports are published on 127.0.0.1 only (run `loom-otel init --expose` to publish them on all interfaces).',
    portRows: model.parts
      .flatMap((part) => part.ports.map((port) => `| ${part.service} | ${port.description} | \`${port.hostIp}:${port.host}\` |`))
      .join('\n'),
    uiLinks: model.parts
      .filter((part) => part.uiUrl)
      .map((part) => `- ${part.service}: ${part.uiUrl}`)
      .join('\n'),
    dashboardUrl: model.dashboardUrl,
    grafana,
    grafanaUser: GRAFANA_ADMIN_USER,
    envFile: ENV_FILE,
    grafanaPasswordVar: GRAFANA_PASSWORD_VAR,
    agentExports: exportLines(agentEnvironment(model)).join('\n'),
    agentExportsPowerShell: exportLines(agentEnvironment(model), 'powershell').join('\n'),
    httpEndpoint: model.otlp.httpEndpoint,
    environment: options.environment,
    network: `${options.name}_default`,
    containerEndpoint: `http://${SERVICE_NAMES.collector}:${CONTAINER_PORTS.otlpGrpc}`,
    samplingNote:
      samplesJaegerTraces(model)
        ? `Jaeger keeps ${options.samplingPercent}% of traces; the metrics still count every span.`
        : undefined,
    fileList: files.map((file) => `- \`${file.path}\`: ${file.purpose}`).join('\n'),
    tokensSeries: TOKENS_SERIES,
    tokenTypeLabel: TOKEN_TYPE_LABEL,
    monitorNote:
      model.has('jaeger') && model.has('prometheus')
        ? "Jaeger's Monitor tab shows these metrics per service, but it starts on span kind Server: Loom's spans are Internal\n(the test trace's LLM calls Client), so pick Internal or Client there."
        : undefined,
    volumes: volumes.join(', '),
  });
}

/** README.md of a Kubernetes stack: apply, the in-cluster endpoint, port-forwards for send-test-trace, the files. */
export function renderKubernetesReadme(model: StackModel, files: readonly FileEntry[]): string {
  const { options } = model;
  const kube = kubernetesOptions(options) as KubernetesOptions;
  // kubectl port-forward needs a Service with pods: kube-prometheus-stack's Prometheus is forwarded in its own
  // namespace; the sidecar's Grafana belongs to that installation and is left out.
  const forwards = model.parts
    .filter((part) => !(part.name === 'grafana' && kube.grafana === 'sidecar'))
    .map((part) => {
      const ports = part.ports.filter((p) => p.role !== 'collectorHealth' && p.role !== 'collectorMetrics').map((p) => `${p.host}:${p.container}`);
      const [namespace, service] = part.name === 'prometheus' && kube.prometheus === 'operator' ? [kube.prometheusNamespace, 'prometheus-operated'] : [kube.namespace, part.service];
      return `kubectl -n ${namespace} port-forward svc/${service} ${ports.join(' ')} &`;
    });
  const host = clusterHost(kube.namespace, SERVICE_NAMES.collector);
  return fillTemplate(readTemplate('kubernetes/README.md'), {
    name: options.name,
    summary: summaryOf(model),
    namespace: kube.namespace,
    collector: SERVICE_NAMES.collector,
    deleteNote: model.has('prometheus') && kube.prometheus === 'deployment' ? `, the ${PROMETHEUS_STORAGE.claim} claim (stored metrics) included` : '',
    clusterEndpoint: inClusterOtlpEndpoint(model),
    clusterHttpEndpoint: `http://${host}:${CONTAINER_PORTS.otlpHttp}`,
    environment: options.environment,
    exposure: options.expose
      ? `\n\`--expose\`: the ${COLLECTOR_EXTERNAL_SERVICE} Service (type LoadBalancer) publishes OTLP gRPC and HTTP outside the cluster; anyone who reaches its address can send data. Find it with \`kubectl -n ${kube.namespace} get svc ${COLLECTOR_EXTERNAL_SERVICE}\`.`
      : '\nEvery Service is ClusterIP: nothing is reachable from outside the cluster (`loom-otel init --target kubernetes --expose` adds a LoadBalancer for OTLP).',
    portForwards: forwards.join('\n'),
    agentExports: exportLines(agentEnvironment(model)).join('\n'),
    grafana: model.has('grafana') && kube.grafana === 'deployment',
    grafanaSidecar: model.has('grafana') && kube.grafana === 'sidecar',
    grafanaUser: GRAFANA_ADMIN_USER,
    secretFile: GRAFANA_SECRET_FILE,
    grafanaPasswordVar: GRAFANA_PASSWORD_VAR,
    fileList: files.filter((file) => file.path !== MANIFEST_FILE).map((file) => `- \`${file.path}\`: ${file.purpose}`).join('\n'),
    manifestFile: MANIFEST_FILE,
  });
}
