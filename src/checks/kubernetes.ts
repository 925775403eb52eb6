/**
 * Check group 4 for a Kubernetes stack (`init --target kubernetes`): the files, the collector config the
 * cluster will run (inside the ConfigMap, or the OpenTelemetryCollector resource), and what an agent in
 * the cluster and this machine should use. No cluster is contacted: kubectl and its credentials stay the user's.
 */
import path from 'node:path';
import { inClusterOtlpEndpoint, kubernetesOptions } from '../stack/kubernetes.js';
import type { FoundStack } from '../stack/manifest.js';
import { SERVICE_NAMES } from '../stack/model.js';
import { COLLECTOR_CONFIGMAP, PART_FILES } from '../stack/render/kubernetes.js';
import { loadDistribution } from '../stack/collector-distribution.js';
import { distributionNameForImage, lintCollectorConfig, type CollectorImage, type CollectorListener } from './collector-config.js';
import { checkManifestFiles, collectorImage, type Parsed } from './stack.js';
import { fail, info, pass, type CheckResult } from './types.js';

type Doc = { kind?: unknown; metadata?: { name?: unknown }; data?: Record<string, unknown>; spec?: Record<string, unknown> };

function documents(parsed: Parsed | undefined): Doc[] {
  if (parsed?.ok !== true || parsed.value === null || typeof parsed.value !== 'object') return [];
  return (Array.isArray(parsed.value) ? parsed.value : [parsed.value]).filter((d): d is Doc => d !== null && typeof d === 'object');
}

/** The collector config and image in collector.yaml: a ConfigMap + Deployment, or an OpenTelemetryCollector. */
interface CollectorSource {
  where: string;
  config?: unknown;
  error?: string;
  image?: string;
  /** The Deployment's container ports (our Deployment only). */
  containerPorts?: number[];
}

async function collectorSource(docs: Doc[]): Promise<CollectorSource | undefined> {
  const resource = docs.find((d) => d.kind === 'OpenTelemetryCollector');
  if (resource) {
    const image = typeof resource.spec?.image === 'string' ? resource.spec.image : undefined;
    return { where: `OpenTelemetryCollector ${String(resource.metadata?.name)} (spec.config)`, config: resource.spec?.config, ...(image ? { image } : {}) };
  }
  const configMap = docs.find((d) => d.kind === 'ConfigMap' && d.metadata?.name === COLLECTOR_CONFIGMAP.name);
  if (!configMap) return undefined;
  const deployment = docs.find((d) => d.kind === 'Deployment' && d.metadata?.name === SERVICE_NAMES.collector);
  const containers = (deployment?.spec as { template?: { spec?: { containers?: Array<{ image?: unknown; ports?: Array<{ containerPort?: unknown }> }> } } } | undefined)?.template?.spec?.containers;
  const containerPorts = (containers?.[0]?.ports ?? []).map((p) => p.containerPort).filter((p): p is number => typeof p === 'number');
  const image = typeof containers?.[0]?.image === 'string' ? containers[0].image : undefined;
  const where = `ConfigMap ${COLLECTOR_CONFIGMAP.name} (${COLLECTOR_CONFIGMAP.key})`;
  const text = configMap.data?.[COLLECTOR_CONFIGMAP.key];
  if (typeof text !== 'string') return { where, error: `has no ${COLLECTOR_CONFIGMAP.key} key`, ...(image ? { image } : {}) };
  const { parseDocument } = await import('yaml');
  const doc = parseDocument(text);
  const first = doc.errors[0];
  if (first) return { where, error: `is not valid YAML: ${first.message.split('\n')[0]}`, ...(image ? { image } : {}) };
  return { where, config: doc.toJS(), containerPorts, ...(image ? { image } : {}) };
}

/** Every port the collector config listens on for OTLP, health or metrics is a container port of the Deployment. */
function portsListed(rewrite: string, file: string, listeners: CollectorListener[], containerPorts: number[]): CheckResult[] {
  const title = `${file}: the Deployment lists the ports the collector listens on`;
  const unlisted = listeners.filter((l) => l.role !== 'other' && !containerPorts.includes(l.port));
  if (unlisted.length === 0) return [pass('stack.ports', title, listeners.filter((l) => l.role !== 'other').map((l) => l.port).join(', '))];
  return unlisted.map((l) =>
    fail(
      `stack.ports.${l.port}`,
      title,
      `${l.component} listens on ${l.port}, which the ${SERVICE_NAMES.collector} Deployment does not list: its Service and probes cannot reach it`,
      `Make the config listen on the port the Deployment lists, or write the stack again: \`${rewrite} --force\` (overwrites your edits).`,
    ),
  );
}

async function imageOf(image: string, where: string): Promise<CollectorImage> {
  const name = distributionNameForImage(image);
  return { image, source: where, ...(name ? { distribution: await loadDistribution(name) } : {}) };
}

export async function checkKubernetesStack(stack: FoundStack, imageFlag: string | undefined): Promise<CheckResult[]> {
  const { checks, read } = await checkManifestFiles(stack);
  const kube = kubernetesOptions(stack.manifest.options);
  if (!kube) return checks;
  const rewrite = `loom-otel init --dir ${stack.dir}`;
  checks.push(
    info(
      'stack.cluster-endpoint',
      'In-cluster OTLP endpoint',
      `${inClusterOtlpEndpoint(stack.model)}: set it as OTEL_EXPORTER_OTLP_ENDPOINT on agents in the cluster (any namespace)`,
    ),
  );

  const file = PART_FILES.collector;
  const source = await collectorSource(documents(read.get(file)));
  if (!source) {
    if (read.get(file)?.ok === true) {
      checks.push(fail('stack.collector-config', 'Collector config', `${file} has neither the ${COLLECTOR_CONFIGMAP.name} ConfigMap nor an OpenTelemetryCollector`, `Write it again: \`${rewrite} --force\` (overwrites your edits).`));
    }
  } else if (source.error !== undefined) {
    checks.push(fail('stack.collector-config', 'Collector config', `${file}: ${source.where} ${source.error}`, `Fix it, or write it again: \`${rewrite} --force\` (overwrites your edits).`));
  } else {
    const image = imageFlag || !source.image ? await collectorImage(imageFlag) : await imageOf(source.image, file);
    const lint = lintCollectorConfig({ config: source.config, file: `${file}: ${source.where}`, image, prometheusScrapes: stack.model.has('prometheus') });
    checks.push(...lint.checks.map((check) => ({ ...check, title: `${file} ${source.where}: ${check.title}` })));
    // The operator derives its ports from the config; our Deployment lists them, and must list what the config listens on.
    if (source.containerPorts) checks.push(...portsListed(rewrite, file, lint.listeners, source.containerPorts));
  }

  const dir = path.relative(process.cwd(), stack.dir) || '.';
  checks.push(
    info('stack.apply', 'Apply', `\`kubectl apply -k ${dir}\` (namespace ${kube.namespace}); doctor reads the files, not the cluster`),
    info('stack.port-forward', 'From this machine', `the checks above probe 127.0.0.1: start the \`kubectl port-forward\` lines of ${path.join(dir, 'README.md')} first`),
  );
  return checks;
}
