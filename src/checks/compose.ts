/**
 * Reads what doctor needs from a compose file: each service's image, published ports and bind mounts,
 * and which host file the collector reads as its config (from its `--config` flag and volumes).
 */
import path from 'node:path';

export interface ComposePort {
  hostIp: string;
  host: number;
  container: number;
}

export interface ComposeService {
  name: string;
  image?: string;
  ports: ComposePort[];
  /** Bind mounts: container path -> host path (absolute). */
  binds: Map<string, string>;
  command: string[];
}

type Mapping = Record<string, unknown>;

const asMapping = (value: unknown): Mapping | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Mapping) : undefined;

/**
 * Compose's variable substitution from this process's environment: `${VAR:-default}` (default when VAR is
 * unset or empty), `${VAR-default}` (default only when unset), `${VAR}`, and `$$` for `$`. The stack's
 * .env is not read, so a value set only there reads as its default.
 */
export function interpolateDefaults(text: string, env: NodeJS.ProcessEnv = process.env): string {
  return text
    .replace(/\$\{(\w+)(?:(:?-)([^}]*))?\}/g, (_, name: string, operator: string | undefined, fallback = '') => {
      const value = env[name];
      if (operator === ':-') return value ? value : fallback;
      if (operator === '-') return value ?? fallback;
      return value ?? '';
    })
    .replace(/\$\$/g, '$');
}

export function parsePorts(value: unknown): ComposePort[] {
  if (!Array.isArray(value)) return [];
  const ports: ComposePort[] = [];
  for (const entry of value) {
    const long = asMapping(entry);
    if (long) {
      const container = Number(interpolateDefaults(String(long.target ?? '')));
      const host = Number(interpolateDefaults(String(long.published ?? '')));
      if (container) ports.push({ hostIp: String(long.host_ip ?? '0.0.0.0'), host: host || container, container });
      continue;
    }
    const text = interpolateDefaults(String(entry)).replace(/\/(tcp|udp)$/, '');
    // [HOST_IP:]HOST:CONTAINER, or CONTAINER alone (a random host port: not a fixed mapping).
    const match = /^(?:(\[[^\]]+\]|[^:]+):)?(?:(\d+):)?(\d+)$/.exec(text);
    if (!match) continue;
    const [, first, hostPart, containerPart] = match;
    let hostIp = '0.0.0.0';
    let host = hostPart;
    if (first !== undefined && hostPart === undefined) host = first;
    else if (first !== undefined) hostIp = first.replace(/^\[|\]$/g, '');
    if (host === undefined) continue;
    ports.push({ hostIp, host: Number(host), container: Number(containerPart) });
  }
  return ports;
}

export function parseComposeServices(doc: unknown, composeFile: string): ComposeService[] {
  const services = asMapping(asMapping(doc)?.services) ?? {};
  const dir = path.dirname(composeFile);
  return Object.entries(services).map(([name, raw]) => {
    const service = asMapping(raw) ?? {};
    const binds = new Map<string, string>();
    for (const volume of Array.isArray(service.volumes) ? service.volumes : []) {
      const long = asMapping(volume);
      const [source, target] = long ? [String(long.source ?? ''), String(long.target ?? '')] : interpolateDefaults(String(volume)).split(':');
      // Only bind mounts (paths) map to host files; named volumes do not.
      if (source && target && /^[./~]/.test(source)) binds.set(target, path.resolve(dir, source));
    }
    const command = Array.isArray(service.command) ? service.command.map(String) : typeof service.command === 'string' ? service.command.split(/\s+/) : [];
    return { name, ...(typeof service.image === 'string' ? { image: interpolateDefaults(service.image) } : {}), ports: parsePorts(service.ports), binds, command };
  });
}

/** Where each collector image reads its config when no --config is given. */
const DEFAULT_CONFIG_PATHS = ['/etc/otelcol-contrib/config.yaml', '/etc/otelcol/config.yaml'];

/**
 * The host file mounted as the collector's config: the container path from `--config` (or the image's
 * default path), mapped back through a bind mount (of the file itself or of a folder holding it).
 */
export function collectorConfigHostPath(service: ComposeService): string | undefined {
  const flagged = service.command
    .map((arg, i) => (arg.startsWith('--config=') ? arg.slice('--config='.length) : arg === '--config' ? service.command[i + 1] : undefined))
    .find((value): value is string => Boolean(value));
  const wanted = flagged ? [flagged.replace(/^file:/, '')] : DEFAULT_CONFIG_PATHS;
  for (const containerPath of wanted) {
    const direct = service.binds.get(containerPath);
    if (direct) return direct;
    for (const [target, source] of service.binds) {
      if (containerPath.startsWith(`${target.replace(/\/+$/, '')}/`)) return path.join(source, containerPath.slice(target.replace(/\/+$/, '').length + 1));
    }
  }
  return undefined;
}

/** An image without a tag, or tagged latest, changes under you. */
export function isUnpinned(image: string): boolean {
  if (image.includes('@sha256:')) return false;
  const lastPart = image.slice(image.lastIndexOf('/') + 1);
  return !lastPart.includes(':') || lastPart.endsWith(':latest');
}
