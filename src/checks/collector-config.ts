/**
 * Lints an OpenTelemetry Collector config the way the collector itself would judge it at start-up, plus
 * the traps that start fine and silently lose data: components the image does not contain, pipelines
 * naming undefined components, defined-but-unused components (a typo drops data), receivers bound to
 * localhost inside a container (the default since v0.104), removed exporters, an unfed `prometheus`
 * exporter. Pure: takes the parsed YAML, returns check results and the ports the config listens on.
 */
import {
  COMPONENT_KINDS,
  currentTypeName,
  hasComponent,
  type CollectorDistribution,
  type ComponentKind,
} from '../stack/collector-distribution.js';
import { isLoopbackHost } from '../otlp/url.js';
import { fail, info, pass, warn, type CheckResult } from './types.js';

/** Which image the config runs on, and the component list of its distribution when it is one we know. */
export interface CollectorImage {
  image: string;
  /** Where the image name came from (flag, compose file, default). */
  source: string;
  distribution?: CollectorDistribution;
}

/** A port the collector listens on, from its config. */
export interface CollectorListener {
  /** `receivers/otlp (grpc)`, `extensions/health_check`, `exporters/prometheus`. */
  component: string;
  role: 'otlp-grpc' | 'otlp-http' | 'health' | 'metrics' | 'other';
  host: string;
  port: number;
}

export interface CollectorLintInput {
  config: unknown;
  /** The file, for messages. */
  file: string;
  image: CollectorImage;
  /** The stack has a Prometheus that scrapes the collector's `prometheus` exporter. */
  prometheusScrapes: boolean;
}

export interface CollectorLint {
  checks: CheckResult[];
  listeners: CollectorListener[];
}

type Section = Record<string, unknown>;

const REMOVED: Readonly<Partial<Record<ComponentKind, Record<string, { since?: string; fix: string }>>>> = {
  exporters: {
    jaeger: { since: 'v0.85', fix: 'Jaeger takes OTLP: replace it with an otlp_grpc/jaeger exporter (otlp/jaeger on older collectors) to jaeger:4317 with tls.insecure: true.' },
    jaeger_thrift: { since: 'v0.85', fix: 'Jaeger takes OTLP: replace it with an otlp_grpc/jaeger exporter to jaeger:4317 with tls.insecure: true.' },
    logging: { since: 'v0.111', fix: 'Use the debug exporter instead (same verbosity option).' },
  },
  processors: {
    spanmetrics: { fix: 'Use the span_metrics connector: an exporter of the traces pipeline and the receiver of a metrics pipeline.' },
  },
};

/** Listening components and the port each listens on when no endpoint is given (localhost since v0.104). */
const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  'receivers/otlp/grpc': 4317,
  'receivers/otlp/http': 4318,
  'receivers/zipkin': 9411,
  'receivers/jaeger/grpc': 14250,
  'receivers/jaeger/thrift_http': 14268,
  'extensions/health_check': 13133,
  'extensions/zpages': 55679,
};

const PIPELINE_TYPES = ['traces', 'metrics', 'logs', 'profiles'];

function asSection(value: unknown): Section | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Section) : undefined;
}

function typeOf(id: string): string {
  return id.split('/')[0] ?? id;
}

function isCoreImage(image: string): boolean {
  return /(^|\/)opentelemetry-collector(:|@|$)/.test(image);
}

/** The distribution whose manifest matches an image name, if we ship it. */
export function distributionNameForImage(image: string): 'otelcol' | 'otelcol-contrib' | undefined {
  if (/(^|\/)opentelemetry-collector-contrib(:|@|$)/.test(image)) return 'otelcol-contrib';
  if (isCoreImage(image)) return 'otelcol';
  return undefined;
}

export function lintCollectorConfig(input: CollectorLintInput): CollectorLint {
  const { file, image } = input;
  const checks: CheckResult[] = [];
  const listeners: CollectorListener[] = [];
  const root = asSection(input.config);
  if (!root) {
    checks.push(fail('collector.structure', 'Collector config', `${file} is not a YAML mapping`, 'Start from the config `loom-otel init` writes, or the collector documentation.'));
    return { checks, listeners };
  }
  const sections = Object.fromEntries(COMPONENT_KINDS.map((kind) => [kind, asSection(root[kind]) ?? {}])) as Record<ComponentKind, Section>;
  const service = asSection(root.service) ?? {};
  const pipelines = asSection(service.pipelines) ?? {};

  checks.push(...componentsExist(sections, image));

  // Pipelines: each must exist, have receivers and exporters, and name only defined components.
  const used: Record<ComponentKind, Set<string>> = Object.fromEntries(COMPONENT_KINDS.map((kind) => [kind, new Set<string>()])) as Record<ComponentKind, Set<string>>;
  const connectorAs = { exporter: new Set<string>(), receiver: new Set<string>() };
  const pipelineProblems: CheckResult[] = [];
  if (Object.keys(pipelines).length === 0) {
    pipelineProblems.push(fail('collector.pipelines', 'Pipelines', 'service.pipelines is missing or empty: the collector refuses to start', 'Add a traces pipeline, e.g. receivers: [otlp], exporters: [otlp_grpc/jaeger].'));
  }
  for (const [name, raw] of Object.entries(pipelines)) {
    const pipeline = asSection(raw) ?? {};
    if (!PIPELINE_TYPES.includes(typeOf(name))) {
      pipelineProblems.push(fail(`collector.pipeline.${name}`, `Pipeline ${name}`, `"${typeOf(name)}" is not a signal (traces, metrics, logs)`, 'Name pipelines traces, metrics or logs, optionally with /name (traces/jaeger).'));
    }
    const list = (key: string): string[] => (Array.isArray(pipeline[key]) ? (pipeline[key] as unknown[]).map(String) : []);
    const receivers = list('receivers');
    const processors = list('processors');
    const exporters = list('exporters');
    if (receivers.length === 0 || exporters.length === 0) {
      pipelineProblems.push(fail(`collector.pipeline.${name}`, `Pipeline ${name}`, `it has no ${receivers.length === 0 ? 'receivers' : 'exporters'}: the collector refuses to start`, `List at least one ${receivers.length === 0 ? 'receiver' : 'exporter'} in service.pipelines.${name}.`));
    }
    const resolve = (id: string, primary: ComponentKind, role: 'receiver' | 'exporter' | 'processor') => {
      if (id in sections[primary]) {
        used[primary].add(id);
      } else if (role !== 'processor' && id in sections.connectors) {
        used.connectors.add(id);
        connectorAs[role].add(id);
      } else {
        const similar = closest(id, Object.keys(sections[primary]));
        pipelineProblems.push(fail(`collector.undefined.${name}.${id}`, `Pipeline ${name}`, `names ${role} "${id}", which is not defined under ${primary}${role === 'processor' ? '' : ' or connectors'}: the collector refuses to start`, similar ? `Did you mean "${similar}"? Use the id exactly as defined.` : `Define ${id} under ${primary}, or remove it from the pipeline.`));
      }
    };
    for (const id of receivers) resolve(id, 'receivers', 'receiver');
    for (const id of processors) resolve(id, 'processors', 'processor');
    for (const id of exporters) resolve(id, 'exporters', 'exporter');
    const limiter = processors.findIndex((id) => typeOf(id) === 'memory_limiter');
    if (limiter > 0) {
      pipelineProblems.push(warn(`collector.order.${name}`, `Pipeline ${name}`, `memory_limiter is processor #${limiter + 1}: it protects the collector only when it runs first`, `Put memory_limiter first in service.pipelines.${name}.processors.`));
    }
  }
  for (const id of used.connectors) {
    if (!connectorAs.exporter.has(id) || !connectorAs.receiver.has(id)) {
      const missing = connectorAs.exporter.has(id) ? 'receiver' : 'exporter';
      pipelineProblems.push(fail(`collector.connector.${id}`, `Connector ${id}`, `it is used only as ${missing === 'receiver' ? 'an exporter' : 'a receiver'}: a connector must be the exporter of one pipeline and the receiver of another`, `Add ${id} as the ${missing} of a ${missing === 'receiver' ? 'metrics' : 'traces'} pipeline.`));
    }
  }
  const serviceExtensions = Array.isArray(service.extensions) ? (service.extensions as unknown[]).map(String) : [];
  for (const id of serviceExtensions) {
    if (id in sections.extensions) used.extensions.add(id);
    else pipelineProblems.push(fail(`collector.undefined.extension.${id}`, 'service.extensions', `names "${id}", which is not defined under extensions: the collector refuses to start`, `Define ${id} under extensions, or remove it from service.extensions.`));
  }
  if (pipelineProblems.length === 0) {
    checks.push(pass('collector.pipelines', 'Pipelines', `${Object.keys(pipelines).join(', ')}: every component they name is defined`));
  }
  checks.push(...pipelineProblems);

  const traces = Object.entries(pipelines).filter(([name]) => typeOf(name) === 'traces');
  if (Object.keys(pipelines).length > 0 && traces.length === 0) {
    checks.push(warn('collector.traces-pipeline', 'Traces pipeline', 'there is none: spans the collector receives are dropped', 'Add service.pipelines.traces with the otlp receiver and an exporter to your trace backend.'));
  }

  // Defined but unused: the collector ignores them, so a typo in a pipeline silently drops that path.
  for (const kind of COMPONENT_KINDS) {
    for (const id of Object.keys(sections[kind])) {
      if (used[kind].has(id)) continue;
      const where = kind === 'extensions' ? 'service.extensions' : 'any pipeline';
      if (kind === 'exporters' && typeOf(id) === 'prometheus') {
        const check = input.prometheusScrapes ? fail : warn;
        checks.push(check(`collector.unused.${kind}.${id}`, `Exporter ${id}`, 'defined but no pipeline feeds it: nothing reaches Prometheus (its endpoint serves no metrics)', 'Add it to a metrics pipeline (exporters: [prometheus]) fed by the otlp receiver or, on the contrib image, the span_metrics connector.'));
      } else {
        checks.push(warn(`collector.unused.${kind}.${id}`, `${singular(kind)} ${id}`, `defined but not used in ${where}: the collector ignores it (a typo in a pipeline?)`, kind === 'extensions' ? `Add ${id} to service.extensions, or remove it.` : `Add ${id} to a pipeline, or remove it.`));
      }
    }
  }

  if (!Object.keys(sections.extensions).some((id) => typeOf(id) === 'health_check')) {
    checks.push(info('collector.health-check', 'health_check extension', 'none: nothing (a compose healthcheck, `loom-otel up`, doctor) can ask the collector whether it is healthy'));
  }
  const bind = bindChecks(sections, listeners);
  checks.push(...bind);
  checks.push(...exporterTlsChecks(sections.exporters));
  return { checks, listeners };
}

function singular(kind: ComponentKind): string {
  const word = kind.slice(0, -1);
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function componentsExist(sections: Record<ComponentKind, Section>, image: CollectorImage): CheckResult[] {
  const checks: CheckResult[] = [];
  const dist = image.distribution;
  for (const kind of COMPONENT_KINDS) {
    for (const id of Object.keys(sections[kind])) {
      const removed = REMOVED[kind]?.[typeOf(id)];
      if (removed) {
        checks.push(fail(`collector.removed.${kind}.${id}`, `${singular(kind)} ${id}`, `the ${typeOf(id)} ${kind.slice(0, -1)} was removed from the collector${removed.since ? ` in ${removed.since}` : ''}: a current collector refuses to start`, removed.fix));
        continue;
      }
      const current = currentTypeName(kind, typeOf(id));
      if (current) {
        const renamed = `${current}${id.slice(typeOf(id).length)}`;
        checks.push(warn(`collector.deprecated.${kind}.${id}`, `${singular(kind)} ${id}`, `"${typeOf(id)}" is a deprecated alias of "${current}": it works, but the collector logs a deprecation warning at every start, and a later release drops it`, `Rename ${kind}.${id} to ${renamed}, and every pipeline that names it.`));
      }
      if (dist && !hasComponent(dist, kind, id)) {
        const core = isCoreImage(image.image);
        checks.push(fail(`collector.missing.${kind}.${id}`, `${singular(kind)} ${id}`, `${image.image} (${dist.name} ${dist.version}) has no ${typeOf(id)} ${kind.slice(0, -1)}: the collector refuses to start`, core ? `Use the contrib image (otel/opentelemetry-collector-contrib:${dist.version}), which has it, or drop ${id}.` : `Check the spelling of "${typeOf(id)}", or build a distribution that includes it.`));
      }
    }
  }
  if (!dist) {
    checks.push(info('collector.distribution', 'Components', `${image.image} (${image.source}) is not an image whose component list loom-otel ships; components were not checked`));
  } else if (!checks.some((c) => c.id.startsWith('collector.missing.'))) {
    const others = checks.some((c) => c.id.startsWith('collector.removed.')) ? 'every other component exists' : 'all exist';
    checks.push(pass('collector.components', 'Components', `${others} in ${dist.name} ${dist.version} (${image.image}, ${image.source})`));
  }
  return checks;
}

function endpointOf(value: unknown): string | undefined {
  const section = asSection(value);
  return section && typeof section.endpoint === 'string' ? section.endpoint : undefined;
}

/** Receivers and extensions must listen on 0.0.0.0 inside a container; the default is localhost since v0.104. */
function bindChecks(sections: Record<ComponentKind, Section>, listeners: CollectorListener[]): CheckResult[] {
  const checks: CheckResult[] = [];
  const consider = (component: string, key: string, value: unknown, role: CollectorListener['role']) => {
    const given = endpointOf(value);
    const defaultPort = DEFAULT_PORTS[key];
    const endpoint = given ?? (defaultPort !== undefined ? `localhost:${defaultPort}` : undefined);
    if (!endpoint) return;
    const match = /^(.*):(\d+)$/.exec(endpoint.trim());
    const host = match ? match[1]!.replace(/^\[|\]$/g, '') : endpoint;
    const port = match ? Number(match[2]) : defaultPort ?? 0;
    if (port) listeners.push({ component, role, host, port });
    const id = `collector.bind.${component}`;
    const title = `${component} listens on`;
    if (/\$\{/.test(endpoint)) {
      checks.push(info(id, title, `${endpoint}: set from the environment, cannot tell which address`));
    } else if (isLoopbackHost(host)) {
      checks.push(fail(id, title, `${endpoint}${given ? '' : ' (the default since collector v0.104, as no endpoint is given)'}: inside a container nothing outside it can connect`, `Set its endpoint to 0.0.0.0:${port}.`));
    } else {
      checks.push(pass(id, title, `${endpoint}: reachable from outside the container`));
    }
  };
  for (const [id, value] of Object.entries(sections.receivers)) {
    const type = typeOf(id);
    if (type === 'otlp' || type === 'jaeger') {
      const protocols = asSection(asSection(value)?.protocols) ?? {};
      const names = Object.keys(protocols);
      if (type === 'otlp') {
        if (names.length === 0) {
          checks.push(fail(`collector.otlp-protocols.${id}`, `Receiver ${id}`, 'it enables no protocol: the collector refuses to start', 'Add protocols: { grpc: { endpoint: 0.0.0.0:4317 }, http: { endpoint: 0.0.0.0:4318 } }.'));
        } else if (!names.includes('http') || !names.includes('grpc')) {
          const only = names.includes('grpc') ? 'gRPC (4317)' : 'HTTP (4318)';
          checks.push(info(`collector.otlp-protocols.${id}`, `Receiver ${id}`, `accepts OTLP over ${only} only: clients using ${names.includes('grpc') ? 'http/protobuf (4318)' : 'grpc (4317)'} cannot send`));
        }
      }
      for (const protocol of names) {
        const role = type === 'otlp' ? (protocol === 'grpc' ? 'otlp-grpc' : protocol === 'http' ? 'otlp-http' : 'other') : 'other';
        consider(`receivers/${id} (${protocol})`, `receivers/${type}/${protocol}`, protocols[protocol], role);
      }
    } else if (type === 'zipkin') {
      consider(`receivers/${id}`, 'receivers/zipkin', value, 'other');
    }
  }
  for (const [id, value] of Object.entries(sections.extensions)) {
    const type = typeOf(id);
    if (type === 'health_check') consider(`extensions/${id}`, 'extensions/health_check', value, 'health');
  }
  for (const [id, value] of Object.entries(sections.exporters)) {
    if (typeOf(id) === 'prometheus') consider(`exporters/${id}`, 'exporters/prometheus', value, 'metrics');
  }
  return checks;
}

/** The OTLP/gRPC exporter uses TLS unless told otherwise; compose-network peers (jaeger:4317) speak plaintext. */
function exporterTlsChecks(exporters: Section): CheckResult[] {
  const checks: CheckResult[] = [];
  for (const [id, value] of Object.entries(exporters)) {
    if (!['otlp', 'otlp_grpc'].includes(typeOf(id))) continue;
    const section = asSection(value) ?? {};
    const endpoint = typeof section.endpoint === 'string' ? section.endpoint : '';
    const insecure = asSection(section.tls)?.insecure === true;
    if (!endpoint || insecure || /^https?:\/\//.test(endpoint)) continue;
    const host = endpoint.replace(/:\d+$/, '');
    if (!host.includes('.')) {
      checks.push(warn(`collector.exporter-tls.${id}`, `Exporter ${id}`, `sends to ${endpoint} with TLS (the default without tls.insecure: true); a service on the compose network such as ${host} usually speaks plaintext, so the handshake fails`, `Add tls: { insecure: true } to exporters.${id}, or give the endpoint as http://${endpoint}.`));
    }
  }
  return checks;
}

/** The defined id closest to a misspelt one (edit distance at most 2), for "did you mean". */
function closest(id: string, candidates: string[]): string | undefined {
  let best: { id: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(id, candidate);
    if (distance <= 2 && (!best || distance < best.distance)) best = { id: candidate, distance };
  }
  return best?.id;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
