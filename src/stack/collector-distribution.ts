/**
 * Which components a collector distribution contains, read from its release manifest
 * (data/collector/*-manifest.yaml, the OpenTelemetry Collector Builder input). Used to prove that a
 * generated config names only components of the image it runs on, and by `doctor` on user configs.
 *
 * The manifest lists Go modules, not component types. A module's last path element is the type with
 * underscores removed plus the kind (`memorylimiterprocessor` -> `memory_limiter`, `filestorage` ->
 * `file_storage`), so a type is matched by stripping both. Types renamed upstream keep their module:
 * data/collector/type-modules.json lists them (`otlp_grpc` is built from `otlpexporter`); the collector
 * build of scripts/e2e-images.mjs reads the same table.
 */
import { readFile } from 'node:fs/promises';
import typeModules from '../../data/collector/type-modules.json' with { type: 'json' };
import { packageFile } from '../package-files.js';

export const COMPONENT_KINDS = ['receivers', 'processors', 'exporters', 'connectors', 'extensions'] as const;
export type ComponentKind = (typeof COMPONENT_KINDS)[number];

/** Component types whose module name does not follow from the type. */
const TYPE_MODULES: Readonly<Partial<Record<ComponentKind, Readonly<Record<string, string>>>>> = typeModules.types;

/**
 * Old type names the collector still accepts, each logging a deprecation warning at every start (collector
 * issue #14396, lower_snake_case names). Read from the components' metadata.yaml `deprecated_type` at
 * v0.158.0, the pin (otlpexporter, spanmetricsconnector, signaltometricsconnector, deltatocumulativeprocessor),
 * and at v0.159.0 for otlphttpexporter (renamed in v0.144).
 */
export const DEPRECATED_TYPES: Readonly<Partial<Record<ComponentKind, Record<string, string>>>> = {
  exporters: { otlp: 'otlp_grpc', otlphttp: 'otlp_http' },
  connectors: { spanmetrics: 'span_metrics', signaltometrics: 'signal_to_metrics' },
  processors: { deltatocumulative: 'delta_to_cumulative' },
};

/** The current name of a component type, when `type` is a deprecated alias of it. */
export function currentTypeName(kind: ComponentKind, type: string): string | undefined {
  return DEPRECATED_TYPES[kind]?.[type];
}

const KIND_SUFFIX: Readonly<Record<ComponentKind, string>> = {
  receivers: 'receiver',
  processors: 'processor',
  exporters: 'exporter',
  connectors: 'connector',
  extensions: 'extension',
};

export interface CollectorDistribution {
  name: string;
  version: string;
  /** Normalized module keys per kind (see moduleKey). */
  modules: Record<ComponentKind, Set<string>>;
}

/** `github.com/.../processor/memorylimiterprocessor v0.158.0` -> `memorylimiter`. */
export function moduleKey(kind: ComponentKind, gomod: string): string {
  const modulePath = gomod.trim().split(/\s+/)[0] ?? '';
  const base = modulePath.slice(modulePath.lastIndexOf('/') + 1).toLowerCase();
  const suffix = KIND_SUFFIX[kind];
  return base.endsWith(suffix) && base.length > suffix.length ? base.slice(0, -suffix.length) : base;
}

/** `memory_limiter/app` -> `memorylimiter`: the key a configured component id is looked up by. */
export function componentKey(kind: ComponentKind, id: string): string {
  const type = id.split('/')[0] ?? id;
  const canonical = TYPE_MODULES[kind]?.[type] ?? type;
  return canonical.replace(/_/g, '').toLowerCase();
}

/** Parses a builder manifest. Only the fields used here are read; the format is plain YAML. */
export async function parseDistributionManifest(text: string): Promise<CollectorDistribution> {
  const { parse } = await import('yaml');
  const data = parse(text) as { dist?: { name?: string; version?: string } } & Partial<Record<ComponentKind, { gomod: string }[]>>;
  const modules = Object.fromEntries(
    COMPONENT_KINDS.map((kind) => [kind, new Set((data[kind] ?? []).map((entry) => moduleKey(kind, entry.gomod)))]),
  ) as Record<ComponentKind, Set<string>>;
  return { name: data.dist?.name ?? 'unknown', version: data.dist?.version ?? 'unknown', modules };
}

/** Reads the manifest of the distribution named like `otelcol-contrib` shipped in data/collector/. */
export async function loadDistribution(name: string): Promise<CollectorDistribution> {
  const url = packageFile(`data/collector/${name}-manifest.yaml`);
  return parseDistributionManifest(await readFile(url, 'utf8'));
}

export function hasComponent(distribution: CollectorDistribution, kind: ComponentKind, id: string): boolean {
  return distribution.modules[kind].has(componentKey(kind, id));
}

/** Every component id a config defines or uses that the distribution lacks, as `kind/id`. */
export function missingComponents(distribution: CollectorDistribution, config: Partial<Record<ComponentKind, Record<string, unknown> | null>>): string[] {
  const missing: string[] = [];
  for (const kind of COMPONENT_KINDS) {
    for (const id of Object.keys(config[kind] ?? {})) {
      if (!hasComponent(distribution, kind, id)) missing.push(`${kind}/${id}`);
    }
  }
  return missing;
}
