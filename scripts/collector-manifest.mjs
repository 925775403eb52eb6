/**
 * The OpenTelemetry Collector Builder manifest `npm run e2e:images` builds the collector from: exactly the
 * components the generated configs name, each mapped to its module in the release manifest
 * (data/collector/otelcol-contrib-manifest.yaml), plus the core config providers. A module's last path
 * element is the type without underscores, with or without the kind (`memory_limiter` ->
 * memorylimiterprocessor); the types whose module is named otherwise are in data/collector/type-modules.json,
 * the table src/stack/collector-distribution.ts reads too (test/init-validators.test.ts checks both agree).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const KIND_SUFFIX = { receivers: 'receiver', processors: 'processor', exporters: 'exporter', connectors: 'connector', extensions: 'extension' };
export const COMPONENT_KINDS = Object.keys(KIND_SUFFIX);

const TYPE_MODULES = JSON.parse(await readFile(path.join(ROOT, 'data/collector/type-modules.json'), 'utf8')).types;

/** The release manifest's gomod line for a component type (`memory_limiter` -> .../memorylimiterprocessor vX). */
export function gomodFor(release, kind, type) {
  const key = (TYPE_MODULES[kind]?.[type] ?? type).replace(/_/g, '');
  const line = (release[kind] ?? []).map((entry) => entry.gomod).find((gomod) => {
    const base = gomod.split(/\s+/)[0].split('/').pop();
    return base === key || base === `${key}${KIND_SUFFIX[kind]}`;
  });
  if (!line) throw new Error(`the collector release manifest has no ${kind} module for "${type}"`);
  return line;
}

/** The release manifest of otelcol-contrib in data/collector/, parsed. */
export async function readReleaseManifest() {
  return parse(await readFile(path.join(ROOT, 'data/collector/otelcol-contrib-manifest.yaml'), 'utf8'));
}

/** The builder manifest for exactly `components` (kind -> set of types) at collector `version`. */
export async function collectorManifest(components, version) {
  const release = await readReleaseManifest();
  if (release.dist.version !== version) {
    throw new Error(`the compose file pins the collector ${version}, but data/collector/otelcol-contrib-manifest.yaml is release ${release.dist.version}`);
  }
  const manifest = {
    dist: { module: 'loomotele2e/otelcol-contrib', name: 'otelcol-contrib', description: 'OpenTelemetry Collector Contrib (components of loom-otel\'s generated configs)', version },
  };
  for (const kind of COMPONENT_KINDS) {
    manifest[kind] = [...components[kind]].sort().map((type) => ({ gomod: gomodFor(release, kind, type) }));
  }
  manifest.providers = release.providers.filter((p) => p.gomod.startsWith('go.opentelemetry.io/collector/confmap/provider/'));
  return manifest;
}
