/**
 * Renders every file of a stack from its model: only the files of enabled parts, in a fixed order, so
 * the same options give byte-identical files (the Grafana password aside, which the caller supplies).
 */
import { MANIFEST_FILE } from '../manifest.js';
import type { StackModel } from '../model.js';
import { COLLECTOR_CONFIG_FILE, renderCollectorConfig } from './collector.js';
import { COMPOSE_FILE, renderCompose } from './compose.js';
import { renderDashboard } from './dashboard.js';
import { ENV_FILE, ENV_FILE_MODE, GITIGNORE_FILE, renderEnvFile, renderGitignore } from './env.js';
import {
  GRAFANA_DASHBOARD_FILE,
  GRAFANA_DATASOURCES_FILE,
  GRAFANA_PROVIDER_FILE,
  renderDashboardProvider,
  renderDatasources,
} from './grafana.js';
import { JAEGER_CONFIG_FILE, renderJaegerConfig } from './jaeger.js';
import { isKubernetes, kubernetesOptions } from '../kubernetes.js';
import { GRAFANA_SECRET_FILE, HELM_VALUES_FILE, kubernetesManifests, renderHelmValues, KUSTOMIZATION_FILE, renderKubernetesGitignore, renderKustomization, renderManifestFile } from './kubernetes.js';
import { PROMETHEUS_CONFIG_FILE, renderPrometheusConfig } from './prometheus.js';
import { README_FILE, renderKubernetesReadme, renderReadme, type FileEntry } from './readme.js';

export interface GeneratedFile extends FileEntry {
  /** Path relative to the stack directory, with '/' separators. */
  path: string;
  content: string;
  /** File mode; 0o644 unless the file holds secrets. */
  mode: number;
}

export interface StackSecrets {
  /** Undefined only for a stack without Grafana whose .env never held a password. */
  grafanaPassword: string | undefined;
}

const file = (path: string, purpose: string, content: string, mode = 0o644): GeneratedFile => ({ path, purpose, content, mode });
const MANIFEST_ENTRY: FileEntry = { path: MANIFEST_FILE, purpose: 'the options of this stack and a digest of each file, read by loom-otel' };
const README_ENTRY: FileEntry = { path: README_FILE, purpose: 'this file' };

export function renderStack(model: StackModel, secrets: StackSecrets): GeneratedFile[] {
  if (isKubernetes(model.options)) return renderKubernetesStack(model, secrets);
  const files: GeneratedFile[] = [
    file(COMPOSE_FILE, 'the services, their pinned images, ports and volumes', renderCompose(model)),
    file(COLLECTOR_CONFIG_FILE, 'the collector: OTLP receivers, processors, span metrics, LLM token counters, exporters and pipelines', renderCollectorConfig(model)),
  ];
  if (model.has('jaeger')) files.push(file(JAEGER_CONFIG_FILE, 'Jaeger v2: in-memory trace storage, UI and query API', renderJaegerConfig(model)));
  if (model.has('prometheus')) files.push(file(PROMETHEUS_CONFIG_FILE, 'what Prometheus scrapes', renderPrometheusConfig(model)));
  if (model.has('grafana')) {
    files.push(file(GRAFANA_DATASOURCES_FILE, "Grafana's datasources (fixed uids)", renderDatasources(model)));
    if (model.has('prometheus')) {
      files.push(file(GRAFANA_PROVIDER_FILE, 'tells Grafana to load the dashboards in grafana/dashboards', renderDashboardProvider()));
      files.push(file(GRAFANA_DASHBOARD_FILE, 'the Loom agents dashboard', renderDashboard(model)));
    }
  }
  files.push(
    file(ENV_FILE, 'the Grafana admin login and DEPLOYMENT_ENV (secret: mode 0600, ignored by git)', renderEnvFile(model, secrets.grafanaPassword), ENV_FILE_MODE),
    file(GITIGNORE_FILE, `keeps ${ENV_FILE} and up --local's PID and log files out of git`, renderGitignore()),
  );
  files.push(file(README_FILE, README_ENTRY.purpose, renderReadme(model, [...files, README_ENTRY, MANIFEST_ENTRY])));
  return files;
}

/** `--target kubernetes`: a Kustomize directory (`kubectl apply -k`), from the same model. */
function renderKubernetesStack(model: StackModel, secrets: StackSecrets): GeneratedFile[] {
  const manifests = kubernetesManifests(model, secrets.grafanaPassword);
  const files: GeneratedFile[] = [
    file(KUSTOMIZATION_FILE, 'ties the manifests together: `kubectl apply -k` applies this directory', renderKustomization(model, manifests)),
    ...manifests.map((m) => file(m.path, m.purpose, renderManifestFile(m), m.mode)),
  ];
  if (kubernetesOptions(model.options)?.helmValues) {
    files.push(file(HELM_VALUES_FILE, 'values for the opentelemetry-collector Helm chart (not part of the kustomization)', renderHelmValues(model)));
  }
  files.push(file(GITIGNORE_FILE, `keeps ${GRAFANA_SECRET_FILE} and up --local's PID and log files out of git`, renderKubernetesGitignore()));
  files.push(file(README_FILE, README_ENTRY.purpose, renderKubernetesReadme(model, [...files, README_ENTRY, MANIFEST_ENTRY])));
  return files;
}
