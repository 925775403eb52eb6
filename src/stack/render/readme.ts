/** README.md of the generated stack: what runs where, where the login is, how to point an agent at it, how to stop. */
import { CONTAINER_PORTS, SERVICE_NAMES, type StackModel } from '../model.js';
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

export function renderReadme(model: StackModel, files: readonly FileEntry[]): string {
  const { options } = model;
  const grafana = model.has('grafana');
  const summary =
    'An OpenTelemetry Collector (contrib) receives OTLP from your agents' +
    (model.has('jaeger') ? ', stores traces in Jaeger' : '') +
    ', derives RED metrics and LLM token counters from every span (span_metrics, signal_to_metrics)' +
    (model.has('prometheus') ? ' for Prometheus' : ' on its Prometheus exporter') +
    (grafana ? ', and Grafana shows them' + (model.dashboardUrl ? ' on the Loom agents dashboard' : '') : '') +
    '.';
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
    grpcEndpoint: model.otlp.grpcEndpoint,
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
