/**
 * Check group 4, the files of a stack written by `init`: every file present and parseable, the collector
 * config linted against the image the compose file runs it on, and the compose file, the collector and
 * Prometheus agreeing on ports. Also lints a collector config on its own (`doctor --collector-config`).
 */
import path from 'node:path';
import { loadDistribution } from '../stack/collector-distribution.js';
import { readStackFile } from '../stack/confine.js';
import { type FoundStack, sha256 } from '../stack/manifest.js';
import { CONTAINER_PORTS, IMAGES, PORT_FLAGS, SERVICE_NAMES, type PortRole } from '../stack/model.js';
import { COLLECTOR_CONFIG_FILE } from '../stack/render/collector.js';
import { COMPOSE_FILE } from '../stack/render/compose.js';
import { PROMETHEUS_CONFIG_FILE } from '../stack/render/prometheus.js';
import {
  distributionNameForImage,
  lintCollectorConfig,
  type CollectorImage,
  type CollectorListener,
} from './collector-config.js';
import { collectorConfigHostPath, isUnpinned, parseComposeServices, type ComposeService } from './compose.js';
import { fail, info, pass, warn, type CheckResult } from './types.js';

export type Parsed = { ok: true; value: unknown } | { ok: false; error: string } | { ok: 'missing' };

async function readParsed(file: string): Promise<{ text?: string; parsed: Parsed }> {
  let text: string | undefined;
  try {
    text = readStackFile(file);
  } catch (error) {
    return { parsed: { ok: false, error: `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` } };
  }
  if (text === undefined) return { parsed: { ok: 'missing' } };
  if (/\.ya?ml$/i.test(file)) {
    const { parseAllDocuments } = await import('yaml');
    const docs = parseAllDocuments(text);
    const first = Array.isArray(docs) ? docs.flatMap((doc) => doc.errors)[0] : undefined;
    if (first) return { text, parsed: { ok: false, error: `is not valid YAML: ${first.message.split('\n')[0]}` } };
    // A Kubernetes manifest file holds several documents (`---`): its value is their list.
    const values = Array.isArray(docs) ? docs.map((doc) => doc.toJS()) : [];
    return { text, parsed: { ok: true, value: values.length <= 1 ? (values[0] ?? null) : values } };
  }
  if (/\.json$/i.test(file)) {
    try {
      return { text, parsed: { ok: true, value: JSON.parse(text) } };
    } catch (error) {
      return { text, parsed: { ok: false, error: `is not valid JSON: ${(error as Error).message}` } };
    }
  }
  return { text, parsed: { ok: true, value: text } };
}

/** The image a collector config runs on: the flag, else the compose file's, else the one `init` generates. */
export async function collectorImage(flag: string | undefined, compose?: ComposeService): Promise<CollectorImage> {
  const [image, source] = flag ? [flag, 'flag --collector-image'] : compose?.image ? [compose.image, `compose service ${compose.name}`] : [IMAGES.collector, 'default: the image loom-otel init uses'];
  const name = distributionNameForImage(image);
  return { image, source, ...(name ? { distribution: await loadDistribution(name) } : {}) };
}

/** `doctor --collector-config FILE`: lint any collector config. */
export async function checkCollectorConfigFile(file: string, imageFlag: string | undefined): Promise<CheckResult[]> {
  const { parsed } = await readParsed(file);
  if (parsed.ok === 'missing') return [fail('collector.file', 'Collector config', `${file} does not exist`, 'Give the path of the collector config file.')];
  if (parsed.ok === false) return [fail('collector.file', 'Collector config', `${file} ${parsed.error}`, 'Fix the file so it parses, then run doctor again.')];
  const image = await collectorImage(imageFlag);
  const checks = [pass('collector.file', 'Collector config', `${file} parses`)];
  if (isUnpinned(image.image)) {
    checks.push(warn('collector.image-tag', 'Image tag', `${image.image} is not pinned: it changes with every release${image.distribution ? `; components were checked against ${image.distribution.version}` : ''}`, `Pin an exact version, e.g. ${IMAGES.collector}.`));
  }
  return [...checks, ...lintCollectorConfig({ config: parsed.value, file, image, prometheusScrapes: false }).checks];
}

export interface StackFilesResult {
  checks: CheckResult[];
}

/** Every file the manifest lists: present, parseable, and whether it was edited since init wrote it. */
export async function checkManifestFiles(stack: FoundStack): Promise<{ checks: CheckResult[]; read: Map<string, Parsed>; missing: string[] }> {
  const checks: CheckResult[] = [];
  const files = Object.keys(stack.manifest.files).sort();
  const read = new Map<string, Parsed>();
  const missing: string[] = [];
  const broken: CheckResult[] = [];
  const edited: string[] = [];
  await Promise.all(
    files.map(async (relative) => {
      const { text, parsed } = await readParsed(path.join(stack.dir, relative));
      read.set(relative, parsed);
      if (parsed.ok === 'missing') missing.push(relative);
      else if (parsed.ok === false) broken.push(fail(`stack.parse.${relative}`, relative, `${relative} ${parsed.error}`, `Fix the file, or write it again: \`loom-otel init --dir ${stack.dir} --force\` (overwrites your edits).`));
      else if (text !== undefined && sha256(text) !== stack.manifest.files[relative]) edited.push(relative);
    }),
  );
  const rewrite = `loom-otel init --dir ${stack.dir}`;
  if (missing.length > 0) {
    checks.push(fail('stack.files', 'Stack files', `missing: ${missing.sort().join(', ')}`, `Write them again: \`${rewrite}\` (it keeps files you edited).`));
  } else if (broken.length === 0) {
    checks.push(pass('stack.files', 'Stack files', `${files.length} files present and parseable in ${stack.dir}`));
  }
  checks.push(...broken);
  if (edited.length > 0) checks.push(info('stack.edited', 'Edited since init', `${edited.sort().join(', ')} (init keeps your edits unless --force)`));
  return { checks, read, missing };
}

/** Checks of the stack's files. */
export async function checkStackFiles(stack: FoundStack, imageFlag: string | undefined): Promise<StackFilesResult> {
  const { checks, read, missing } = await checkManifestFiles(stack);
  const rewrite = `loom-otel init --dir ${stack.dir}`;

  // The compose file (also one that was there before init, which the manifest does not list): every
  // part's service, images pinned, and the collector service it runs.
  const composeParsed = read.get(COMPOSE_FILE) ?? (await readParsed(path.join(stack.dir, COMPOSE_FILE))).parsed;
  const services = composeParsed.ok === true ? parseComposeServices(composeParsed.value, path.join(stack.dir, COMPOSE_FILE)) : [];
  if (composeParsed.ok === true || (composeParsed.ok === 'missing' && !missing.includes(COMPOSE_FILE))) {
    const absent = stack.model.parts.map((part) => part.service).filter((name) => !services.some((s) => s.name === name));
    checks.push(
      absent.length === 0
        ? pass('stack.services', 'Compose services', `${COMPOSE_FILE} defines ${stack.model.parts.map((part) => part.service).join(', ')}`)
        : fail(
            'stack.services',
            'Compose services',
            composeParsed.ok === 'missing' ? `${COMPOSE_FILE} is missing` : `${COMPOSE_FILE} has no ${absent.join(', ')} service${absent.length === 1 ? '' : 's'}: \`loom-otel up\` would not start ${absent.length === 1 ? 'it' : 'them'}`,
            `Write it again: \`${rewrite} --force\` (overwrites your edits).`,
          ),
    );
  }
  const unpinned = services.filter((s) => s.image && isUnpinned(s.image));
  if (unpinned.length > 0) {
    checks.push(warn('stack.images', 'Image tags', `not pinned: ${unpinned.map((s) => `${s.name} (${s.image})`).join(', ')}: an update can change them under you`, `Pin exact versions, e.g. ${IMAGES.collector}.`));
  }
  const collectorService = services.find((s) => s.name === SERVICE_NAMES.collector) ?? services.find((s) => s.image && distributionNameForImage(s.image));
  // No collector service: stack.services said so, and there is no config to follow.
  if (composeParsed.ok === true && !collectorService) return { checks };

  // The collector config the compose file mounts (or the generated one).
  const configPath = (collectorService && collectorConfigHostPath(collectorService)) ?? path.join(stack.dir, COLLECTOR_CONFIG_FILE);
  const relativeConfig = path.relative(stack.dir, configPath);
  const configParsed = read.get(relativeConfig) ?? (await readParsed(configPath)).parsed;
  if (configParsed.ok !== true) {
    if (!read.has(relativeConfig)) checks.push(fail('stack.collector-config', 'Collector config', `${configPath} (mounted by ${COMPOSE_FILE}) is ${configParsed.ok === 'missing' ? 'missing' : 'unreadable'}`, `Fix the volume of ${SERVICE_NAMES.collector} in ${COMPOSE_FILE}, or write the stack again: \`${rewrite}\`.`));
    return { checks };
  }
  const image = await collectorImage(imageFlag, collectorService);
  const lint = lintCollectorConfig({ config: configParsed.value, file: relativeConfig, image, prometheusScrapes: stack.model.has('prometheus') });
  checks.push(...lint.checks.map((check) => ({ ...check, title: `${relativeConfig}: ${check.title}` })));
  if (collectorService) checks.push(...portsAgree(stack, collectorService, lint.listeners));
  const prometheus = read.get(PROMETHEUS_CONFIG_FILE);
  if (stack.model.has('prometheus') && prometheus?.ok === true) checks.push(...scrapeAgrees(prometheus.value, lint.listeners));
  return { checks };
}

const ROLE_OF_LISTENER: Readonly<Partial<Record<CollectorListener['role'], PortRole>>> = {
  'otlp-grpc': 'otlpGrpc',
  'otlp-http': 'otlpHttp',
  health: 'collectorHealth',
  metrics: 'collectorMetrics',
};

/** The compose file publishes what the collector listens on, on the host ports the manifest records. */
function portsAgree(stack: FoundStack, service: ComposeService, listeners: CollectorListener[]): CheckResult[] {
  const checks: CheckResult[] = [];
  const published = new Map(service.ports.map((p) => [p.container, p]));
  const listening = new Set(listeners.map((l) => l.port));
  const title = `${COMPOSE_FILE} and the collector agree on ports`;
  for (const listener of listeners) {
    const role = ROLE_OF_LISTENER[listener.role];
    if (!role) continue;
    const mapping = published.get(listener.port);
    if (!mapping) {
      checks.push(fail(`stack.ports.${role}`, title, `${listener.component} listens on container port ${listener.port}, which ${service.name} does not publish: the host cannot reach it`, `Publish it in ${COMPOSE_FILE}: "127.0.0.1:${stack.manifest.options.ports[role]}:${listener.port}".`));
    } else if (mapping.host !== stack.manifest.options.ports[role]) {
      checks.push(fail(`stack.ports.${role}`, title, `${COMPOSE_FILE} publishes ${listener.component} on host port ${mapping.host}, but the manifest records ${stack.manifest.options.ports[role]}: loom-otel would probe the wrong port`, `Change the port with init so both agree: \`loom-otel init --dir ${stack.dir} ${PORT_FLAGS[role]} ${mapping.host}\`.`));
    }
  }
  for (const mapping of service.ports) {
    const known = Object.values(ROLE_OF_LISTENER).some((role) => CONTAINER_PORTS[role] === mapping.container);
    if (known && !listening.has(mapping.container)) {
      checks.push(fail(`stack.ports.unbound.${mapping.container}`, title, `${service.name} publishes container port ${mapping.container} (host ${mapping.host}), but the collector config listens on nothing there: connections are refused`, mapping.container === CONTAINER_PORTS.otlpHttp ? 'Enable the http protocol of the otlp receiver: http: { endpoint: 0.0.0.0:4318 }.' : 'Make the collector listen there, or drop the port from the compose file.'));
    }
  }
  if (checks.length === 0) checks.push(pass('stack.ports', title, service.ports.map((p) => `${p.hostIp}:${p.host}->${p.container}`).join(', ')));
  return checks;
}

/** Prometheus scrapes the port the collector's prometheus exporter serves. */
function scrapeAgrees(config: unknown, listeners: CollectorListener[]): CheckResult[] {
  const exporter = listeners.find((l) => l.role === 'metrics');
  if (!exporter) return [];
  const jobs = Array.isArray((config as { scrape_configs?: unknown })?.scrape_configs) ? ((config as { scrape_configs: unknown[] }).scrape_configs as Array<Record<string, unknown>>) : [];
  const targets = jobs.flatMap((job) => (Array.isArray(job.static_configs) ? (job.static_configs as Array<{ targets?: unknown }>) : []).flatMap((s) => (Array.isArray(s.targets) ? s.targets.map(String) : [])));
  const collectorPorts = targets.filter((t) => t.startsWith(`${SERVICE_NAMES.collector}:`)).map((t) => Number(t.split(':')[1]));
  const title = `${PROMETHEUS_CONFIG_FILE} scrapes the collector's prometheus exporter`;
  if (collectorPorts.includes(exporter.port)) return [pass('stack.scrape', title, `${SERVICE_NAMES.collector}:${exporter.port}`)];
  return [fail('stack.scrape', title, `${exporter.component} serves on ${exporter.port}, but Prometheus scrapes ${collectorPorts.length ? collectorPorts.map((p) => `${SERVICE_NAMES.collector}:${p}`).join(', ') : `no ${SERVICE_NAMES.collector} target`}: the spanmetrics never reach Prometheus`, `Add the target ${SERVICE_NAMES.collector}:${exporter.port} to a scrape job in ${PROMETHEUS_CONFIG_FILE}.`)];
}
