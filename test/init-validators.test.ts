/**
 * The generated files, checked with the real validators for every combination of parts: docker-compose
 * 1.29 and the Compose JSON schema, promtool, the contrib collector manifest of the pinned release, and
 * the dashboard's PromQL against promtool and the spanmetrics contract.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { ROOT, runCli, tempDir } from './helpers/cli.js';
import { requireTool } from './helpers/validators.js';
import { COMPONENT_KINDS, componentKey, currentTypeName, hasComponent, loadDistribution, missingComponents, moduleKey, type ComponentKind } from '../src/stack/collector-distribution.js';
import typeModules from '../data/collector/type-modules.json' with { type: 'json' };
import { COMPONENT_KINDS as BUILD_KINDS, gomodFor, readReleaseManifest } from '../scripts/collector-manifest.mjs';
import { COLLECTOR_DISTRIBUTION } from '../src/stack/model.js';
import {
  LOOM_SPAN_NAMES,
  SPAN_NAME_PATTERNS,
  SPANMETRICS_BASE_LABELS,
  SPANMETRICS_LABELS,
  SPANMETRICS_SERIES,
  STATUS_CODE_VALUES,
} from '../src/stack/spanmetrics.js';
import { TOKEN_LABELS, TOKEN_TYPE_LABEL, TOKEN_TYPES, TOKENS_SERIES } from '../src/stack/tokens.js';

type Parts = { jaeger: boolean; prometheus: boolean; grafana: boolean };
const COMBOS: Parts[] = [];
for (const jaeger of [true, false]) for (const prometheus of [true, false]) for (const grafana of [true, false]) COMBOS.push({ jaeger, prometheus, grafana });
const label = (p: Parts) => Object.entries(p).map(([k, v]) => `${v ? '+' : '-'}${k}`).join(' ');
const flags = (p: Parts) => [...(p.jaeger ? [] : ['--no-jaeger']), ...(p.prometheus ? [] : ['--no-prometheus']), ...(p.grafana ? [] : ['--no-grafana'])];
const valid = (p: Parts) => !(p.grafana && !p.jaeger && !p.prometheus);

let work: { dir: string; cleanup: () => Promise<void> };
const stacks = new Map<string, string>();
beforeAll(async () => {
  work = await tempDir('loom-otel-validate-');
  await Promise.all(
    COMBOS.filter(valid).map(async (parts, i) => {
      // Sampling below 100 adds the sampler and a second traces pipeline where Jaeger is present.
      const dir = path.join(work.dir, `stack-${i}`);
      const run = await runCli(['init', '--yes', '--dir', dir, '--sampling', '50', ...flags(parts)]);
      if (run.exitCode !== 0) throw new Error(`init ${label(parts)} failed: ${run.stderr}`);
      stacks.set(label(parts), dir);
    }),
  );
});
afterAll(async () => {
  await work.cleanup();
});

const read = (parts: Parts, file: string) => readFile(path.join(stacks.get(label(parts)) as string, file), 'utf8');

describe('every combination of parts', () => {
  it('Grafana alone (with neither Prometheus nor Jaeger) is a usage error', async () => {
    for (const parts of COMBOS.filter((p) => !valid(p))) {
      const run = await runCli(['init', '--yes', '--dir', path.join(work.dir, 'invalid'), ...flags(parts)]);
      expect(run.exitCode, label(parts)).toBe(2);
    }
    expect(COMBOS.filter(valid)).toHaveLength(7);
  });

  const hasCompose = requireTool('docker-compose', 'apt-get install docker-compose');
  for (const parts of COMBOS.filter(valid)) {
    describe(label(parts), () => {
      it('the Compose JSON schema accepts docker-compose.yml', async () => {
        const schema = JSON.parse(await readFile(path.join(ROOT, 'test/fixtures/compose/compose-spec.json'), 'utf8'));
        delete schema.$schema; // the file names draft-07 without the trailing '#' ajv registers it under
        const validate = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(schema);
        const compose = parse(await read(parts, 'docker-compose.yml'));
        expect(validate(compose), JSON.stringify(validate.errors, null, 2)).toBe(true);
        expect(compose.name).toBe('loom-observability');
      });

      it.skipIf(!hasCompose)('docker-compose 1.29 `config -q` accepts it (a copy without `name:`)', async () => {
        // docker-compose 1.29 predates the spec's top-level `name:` and rejects it; the full file is checked
        // by the schema above. The copy sits next to the original so ./ paths and .env resolve the same.
        const dir = stacks.get(label(parts)) as string;
        const compose = parse(await read(parts, 'docker-compose.yml'));
        delete compose.name;
        const copy = path.join(dir, 'compose-without-name.yml');
        await writeFile(copy, stringify(compose));
        const run = await execa('docker-compose', ['-f', copy, 'config', '-q'], { cwd: dir, reject: false });
        expect(run.exitCode, run.stderr).toBe(0);
      });

      it('names only components of the pinned contrib release, and pipelines only defined components', async () => {
        const config = parse(await read(parts, 'otel-collector.yaml')) as Record<ComponentKind, Record<string, unknown>> & {
          service: { extensions: string[]; pipelines: Record<string, { receivers: string[]; processors?: string[]; exporters: string[] }> };
        };
        const distribution = await loadDistribution(COLLECTOR_DISTRIBUTION.name);
        expect(distribution.version).toBe(COLLECTOR_DISTRIBUTION.version);
        expect(missingComponents(distribution, config)).toEqual([]);

        const defined = (kind: ComponentKind) => Object.keys(config[kind] ?? {});
        // The collector `npm run e2e:images` builds takes, for each, the module doctor matches it to.
        const release = await readReleaseManifest();
        for (const kind of COMPONENT_KINDS) {
          for (const id of defined(kind)) expect(moduleKey(kind, gomodFor(release, kind, id.split('/')[0] as string)), `${kind}/${id}`).toBe(componentKey(kind, id));
        }
        const pipelines = Object.values(config.service.pipelines);
        for (const pipeline of pipelines) {
          for (const id of pipeline.receivers) expect([...defined('receivers'), ...defined('connectors')]).toContain(id);
          for (const id of pipeline.processors ?? []) expect(defined('processors')).toContain(id);
          for (const id of pipeline.exporters) expect([...defined('exporters'), ...defined('connectors')]).toContain(id);
        }
        for (const id of config.service.extensions) expect(defined('extensions')).toContain(id);
        // Nothing defined is left unused (an unused component means data silently goes nowhere).
        const used = new Set(pipelines.flatMap((p) => [...p.receivers, ...(p.processors ?? []), ...p.exporters]));
        for (const kind of ['receivers', 'processors', 'exporters', 'connectors'] as const) {
          for (const id of defined(kind)) expect(used.has(id), `${kind}/${id} is unused`).toBe(true);
        }
        for (const connector of defined('connectors')) {
          expect(pipelines.some((p) => p.exporters.includes(connector)) && pipelines.some((p) => p.receivers.includes(connector))).toBe(true);
        }
        const jaegerExport = pipelines.some((p) => p.exporters.some((id) => id.endsWith('/jaeger')));
        expect(jaegerExport).toBe(parts.jaeger);
        // The removed `jaeger` and `logging` exporters never appear.
        expect(Object.keys(config.exporters).filter((id) => /^(jaeger|logging)(\/|$)/.test(id))).toEqual([]);
        // No deprecated alias either (each logs a warning at every start and goes away in a later release).
        for (const kind of COMPONENT_KINDS) {
          for (const id of defined(kind)) expect(currentTypeName(kind, id.split('/')[0] as string), `${kind}/${id}`).toBeUndefined();
        }
      });

      if (parts.prometheus) {
        it('promtool accepts prometheus.yml', async () => {
          if (!requireTool('promtool', 'apt-get install prometheus')) return;
          const file = path.join(stacks.get(label(parts)) as string, 'prometheus.yml');
          const run = await execa('promtool', ['check', 'config', file], { reject: false });
          expect(run.exitCode, run.stdout + run.stderr).toBe(0);
        });
      }
    });
  }
});

describe('collector distribution mapping', () => {
  it('maps builder modules to component types, including renamed ones', async () => {
    expect(moduleKey('processors', 'go.opentelemetry.io/collector/processor/memorylimiterprocessor v0.159.0')).toBe('memorylimiter');
    expect(componentKey('processors', 'memory_limiter/app')).toBe('memorylimiter');
    expect(moduleKey('extensions', 'github.com/x/extension/storage/filestorage v0.159.0')).toBe(componentKey('extensions', 'file_storage'));
    const contrib = await loadDistribution('otelcol-contrib');
    const core = await loadDistribution('otelcol');
    expect(missingComponents(contrib, { exporters: { 'otlp_grpc/jaeger': {}, otlp: {}, otlp_http: {}, debug: {} } })).toEqual([]);
    expect(missingComponents(core, { connectors: { spanmetrics: {} } })).toEqual(['connectors/spanmetrics']);
    expect(missingComponents(contrib, { exporters: { jaeger: {} }, processors: { no_such_thing: {} } })).toEqual([
      'processors/no_such_thing',
      'exporters/jaeger',
    ]);
    expect(COMPONENT_KINDS).toContain('connectors');
  });

  it('agrees with the collector build of npm run e2e:images on every module of the release and every renamed type', async () => {
    expect(BUILD_KINDS).toEqual([...COMPONENT_KINDS]);
    const release = await readReleaseManifest();
    const contrib = await loadDistribution('otelcol-contrib');
    const renamed: Partial<Record<ComponentKind, Record<string, string>>> = typeModules.types;
    for (const kind of COMPONENT_KINDS) {
      for (const type of [...contrib.modules[kind], ...Object.keys(renamed[kind] ?? {})]) {
        expect(moduleKey(kind, gomodFor(release, kind, type)), `${kind}/${type}`).toBe(componentKey(kind, type));
      }
    }
    expect(gomodFor(release, 'exporters', 'otlp_grpc')).toBe(`go.opentelemetry.io/collector/exporter/otlpexporter v${release.dist.version}`);
    expect(gomodFor(release, 'exporters', 'otlp_http')).toBe(`go.opentelemetry.io/collector/exporter/otlphttpexporter v${release.dist.version}`);
    expect(() => gomodFor(release, 'processors', 'no_such_thing')).toThrow('no processors module for "no_such_thing"');
    expect(hasComponent(contrib, 'processors', 'no_such_thing')).toBe(false);
  });
});

describe('the Loom agents dashboard', () => {
  const all: Parts = { jaeger: true, prometheus: true, grafana: true };
  /** Grafana macros and variables, replaced by values PromQL accepts. */
  const toPromQL = (expr: string) =>
    expr.replaceAll('$__rate_interval', '1m').replaceAll('$service', '.*').replaceAll('$environment', '.*').replaceAll('$$__tags', 'service_name="x"');

  async function expressions(): Promise<string[]> {
    const dashboard = JSON.parse(await read(all, 'grafana/dashboards/loom-agents.json'));
    const exprs: string[] = dashboard.panels.flatMap((p: { targets?: { expr: string }[] }) => (p.targets ?? []).map((t) => t.expr));
    const datasources = parse(await read(all, 'grafana/provisioning/datasources/loom.yaml'));
    const jaeger = datasources.datasources.find((d: { type: string }) => d.type === 'jaeger');
    return [...exprs, ...jaeger.jsonData.tracesToMetrics.queries.map((q: { query: string }) => q.query)];
  }

  it('has the panels the issue asks for, on the fixed uid', async () => {
    const dashboard = JSON.parse(await read(all, 'grafana/dashboards/loom-agents.json'));
    expect(dashboard.uid).toBe('loom-agents');
    const text = JSON.stringify(dashboard);
    for (const span of Object.values(LOOM_SPAN_NAMES)) expect(text).toContain(span);
    for (const pattern of ['invoke_agent .+', 'chat .+', 'execute_tool .+']) expect(text).toContain(pattern);
    const titles = dashboard.panels.map((p: { title: string }) => p.title).join('\n');
    for (const title of [
      'Agent runs per second',
      'Agent run duration p95',
      'LLM calls per second',
      'LLM latency p50 / p95',
      'LLM error rate',
      'Tokens per second by model',
      'Input vs output tokens per second',
      'Tokens per agent run',
      'Tool calls per second',
      'Tool error rate',
      'Span error rate by service',
    ]) {
      expect(titles).toContain(title);
    }
  });

  it('every query parses (promtool check rules)', async () => {
    if (!requireTool('promtool', 'apt-get install prometheus')) return;
    const exprs = await expressions();
    expect(exprs.length).toBeGreaterThanOrEqual(10);
    const rules = { groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `loom:dashboard_query_${i}`, expr: toPromQL(expr) })) }] };
    const file = path.join(work.dir, 'dashboard-rules.yml');
    await writeFile(file, stringify(rules));
    const run = await execa('promtool', ['check', 'rules', file], { reject: false });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(`${exprs.length} rules found`);
  });

  it('every query names only series, labels and values the generated collector produces', async () => {
    // The labels each series family carries.
    const families = new Map<string, Set<string>>([
      ...Object.values(SPANMETRICS_SERIES).map((name) => [name, new Set(SPANMETRICS_LABELS)] as const),
      [TOKENS_SERIES, new Set(TOKEN_LABELS)],
    ]);
    const series = new Set(families.keys());
    const patterns = new Set<string>(Object.values(SPAN_NAME_PATTERNS).flat());
    const functions = new Set(['sum', 'rate', 'histogram_quantile', 'by', 'or']);
    for (const raw of await expressions()) {
      const expr = toPromQL(raw);
      const selectors = [...expr.matchAll(/([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}/g)];
      expect(selectors.length, expr).toBeGreaterThan(0);
      const named = new Set<string>();
      for (const [, metric, matchers] of selectors) {
        expect(series.has(metric as string), `${metric} in ${expr}`).toBe(true);
        const labels = families.get(metric as string) as Set<string>;
        for (const label of labels) named.add(label);
        for (const [, name, , value] of (matchers as string).matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) {
          expect(labels.has(name as string), `label ${name} of ${metric} in ${expr}`).toBe(true);
          if (name === SPANMETRICS_BASE_LABELS.statusCode) expect(Object.values(STATUS_CODE_VALUES)).toContain(value);
          if (name === SPANMETRICS_BASE_LABELS.spanName) {
            for (const span of (value as string).split('|')) expect(patterns.has(span), `span_name ${span} in ${expr}`).toBe(true);
          }
          if (name === TOKEN_TYPE_LABEL) expect(TOKEN_TYPES).toContain(value);
        }
      }
      // A grouping label must be one the selected series carry (the checks above are per selector).
      for (const [, list] of expr.matchAll(/by\s*\(([^)]*)\)/g)) {
        for (const name of (list as string).split(',').map((s) => s.trim())) expect(named.has(name), `by ${name} in ${expr}`).toBe(true);
      }
      // No other bare identifiers (a metric name without a selector would escape the checks above).
      const bare = [...expr.replace(/"[^"]*"/g, '""').replace(/\{[^}]*\}/g, '{}').replace(/by\s*\([^)]*\)/g, '').replace(/\[[^\]]*\]/g, '').matchAll(/[a-zA-Z_:][\w:]*/g)]
        .map((m) => m[0])
        .filter((word) => !functions.has(word) && !series.has(word));
      expect(bare, expr).toEqual([]);
    }
  });

  it('the dashboard variables read label values from the spanmetrics series', async () => {
    const dashboard = JSON.parse(await read(all, 'grafana/dashboards/loom-agents.json'));
    for (const variable of dashboard.templating.list) {
      const [, metric, labelName] = /label_values\((\w+),\s*(\w+)\)/.exec(variable.query) ?? [];
      expect(SPANMETRICS_SERIES.calls).toBe(metric);
      expect(SPANMETRICS_LABELS).toContain(labelName);
    }
  });
});
