/**
 * What Grafana reads, validated without running Grafana (AGPL: never built here): the dashboard against
 * the grafana-foundation-sdk dashboard JSON schema, the provisioning files against the keys Grafana's
 * provisioning code reads, the compose mounts against the image's own provisioning folders, and the
 * trace-to-metrics links by expanding `$__tags` the way Grafana's trace view does for a Jaeger span.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Ajv } from 'ajv';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ROOT, runCli, tempDir } from './helpers/cli.js';
import { requireTool } from './helpers/validators.js';

type Keys = Record<string, string[]>;
type Parts = { jaeger: boolean; prometheus: boolean };
const VARIANTS: Parts[] = [
  { jaeger: true, prometheus: true },
  { jaeger: true, prometheus: false },
  { jaeger: false, prometheus: true },
];
const label = (p: Parts) => `${p.jaeger ? '+' : '-'}jaeger ${p.prometheus ? '+' : '-'}prometheus`;

let work: { dir: string; cleanup: () => Promise<void> };
let keys: Keys;
const dirs = new Map<string, string>();
beforeAll(async () => {
  work = await tempDir('loom-otel-grafana-');
  keys = JSON.parse(await readFile(path.join(ROOT, 'test/fixtures/grafana/provisioning-keys.json'), 'utf8')) as Keys;
  await Promise.all(
    VARIANTS.map(async (parts, i) => {
      const dir = path.join(work.dir, `stack-${i}`);
      const flags = [...(parts.jaeger ? [] : ['--no-jaeger']), ...(parts.prometheus ? [] : ['--no-prometheus'])];
      const run = await runCli(['init', '--yes', '--dir', dir, ...flags]);
      if (run.exitCode !== 0) throw new Error(`init ${label(parts)} failed: ${run.stderr}`);
      dirs.set(label(parts), dir);
    }),
  );
});
afterAll(() => work.cleanup());

const read = (parts: Parts, file: string) => readFile(path.join(dirs.get(label(parts)) as string, file), 'utf8');

/** Every key of `object` must be in the list named `list`; `nested` names the lists of sub-objects. */
function expectKnownKeys(object: Record<string, unknown>, list: string, where: string): void {
  const known = keys[list];
  expect(known, list).toBeDefined();
  for (const key of Object.keys(object)) expect(known, `${where}.${key}`).toContain(key);
}

describe.each(VARIANTS)('Grafana files, $jaeger jaeger / $prometheus prometheus', (parts) => {
  it('the datasources file uses only keys Grafana reads', async () => {
    const file = parse(await read(parts, 'grafana/provisioning/datasources/loom.yaml')) as { datasources: Array<Record<string, unknown>> };
    expectKnownKeys(file, 'datasourceFile', 'root');
    expect(file.datasources.map((d) => d.type).sort()).toEqual([...(parts.jaeger ? ['jaeger'] : []), ...(parts.prometheus ? ['prometheus'] : [])]);
    for (const datasource of file.datasources) {
      expectKnownKeys(datasource, 'datasource', `datasources[${String(datasource.name)}]`);
      const jsonData = datasource.jsonData as Record<string, Record<string, unknown>>;
      if (datasource.type === 'prometheus') expectKnownKeys(jsonData, 'prometheusJsonData', 'prometheus.jsonData');
      if (datasource.type === 'jaeger') {
        expectKnownKeys(jsonData, 'jaegerJsonData', 'jaeger.jsonData');
        expectKnownKeys(jsonData.nodeGraph!, 'nodeGraph', 'jaeger.jsonData.nodeGraph');
        const toMetrics = jsonData.tracesToMetrics as { tags: Record<string, unknown>[]; queries: Record<string, unknown>[] } | undefined;
        expect(Boolean(toMetrics)).toBe(parts.prometheus);
        if (toMetrics) {
          expectKnownKeys(toMetrics, 'tracesToMetrics', 'tracesToMetrics');
          for (const tag of toMetrics.tags) expectKnownKeys(tag, 'tracesToMetricsTag', 'tracesToMetrics.tags[]');
          for (const query of toMetrics.queries) expectKnownKeys(query, 'tracesToMetricsQuery', 'tracesToMetrics.queries[]');
        }
      }
    }
  });

  // Without Prometheus there is no dashboard and no provider file.
  if (parts.prometheus) it('the dashboard provider file uses only keys Grafana reads, and the dashboard passes the foundation-sdk schema', async () => {
    const provider = parse(await read(parts, 'grafana/provisioning/dashboards/loom.yaml')) as { providers: Array<Record<string, unknown>> };
    expectKnownKeys(provider, 'dashboardProviderFile', 'root');
    for (const p of provider.providers) {
      expectKnownKeys(p, 'dashboardProvider', 'providers[]');
      expectKnownKeys(p.options as Record<string, unknown>, 'dashboardProviderOptions', 'providers[].options');
    }

    const schema = JSON.parse(await readFile(path.join(ROOT, 'test/fixtures/grafana/dashboard.jsonschema.json'), 'utf8'));
    delete schema.$schema; // draft-07 without the trailing '#' ajv registers it under
    const validate = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(schema);
    const dashboard = JSON.parse(await read(parts, 'grafana/dashboards/loom-agents.json'));
    expect(validate(dashboard), JSON.stringify(validate.errors, null, 2)).toBe(true);
    // The schema is strict enough to catch a mistake: a dashboard link without its required fields fails.
    const broken = structuredClone(dashboard);
    broken.links = [{ title: 'x', type: 'link', url: 'http://x' }];
    expect(validate(broken)).toBe(false);
  });

  it("mounts only the provisioning folders it writes, so the image's own alerting/, plugins/ (and dashboards/) stay", async () => {
    const compose = parse(await read(parts, 'docker-compose.yml')) as { services: { grafana: { volumes: string[] } } };
    const volumes = compose.services.grafana.volumes;
    expect(volumes.some((v) => /:\/etc\/grafana\/provisioning(:|$)/.test(v))).toBe(false);
    const mounted = volumes.filter((v) => v.includes(':/etc/grafana/provisioning/')).map((v) => v.split(':'));
    const expected = ['datasources', ...(parts.prometheus ? ['dashboards'] : [])];
    expect(mounted.map(([, target]) => target).sort()).toEqual(expected.map((f) => `/etc/grafana/provisioning/${f}`).sort());
    for (const [source, target, mode] of mounted) {
      expect(mode).toBe('ro');
      expect(source).toBe(`./grafana/provisioning/${path.posix.basename(target as string)}`);
      // The folder holds exactly the file loom-otel wrote there.
      expect(await readdir(path.join(dirs.get(label(parts)) as string, source as string))).toEqual(['loom.yaml']);
    }
  });
});

describe('"Metrics for this span" links select the span\'s service and span name', () => {
  const parts = { jaeger: true, prometheus: true };
  /** Grafana's getFormattedTags: process tags, span tags, then the pseudo-tags spanId, traceId, name, duration. */
  function formattedTags(span: { process: { tags: Array<{ key: string; value: unknown }> }; tags: Array<{ key: string; value: unknown }>; operationName: string }, mapping: Array<{ key: string; value?: string }>): string {
    return [...span.process.tags, ...span.tags, { key: 'name', value: span.operationName }]
      .map((tag) => {
        const keyValue = mapping.find((m) => m.key === tag.key);
        return keyValue ? `${keyValue.value ? keyValue.value : keyValue.key}="${String(tag.value)}"` : undefined;
      })
      .filter(Boolean)
      .join(', ');
  }

  it('expands $__tags to service_name, span_name and the environment for a Jaeger span of the generated stack', async () => {
    const datasources = parse(await read(parts, 'grafana/provisioning/datasources/loom.yaml')) as {
      datasources: Array<{ type: string; jsonData: { tracesToMetrics: { tags: Array<{ key: string; value?: string }>; queries: Array<{ name: string; query: string }> } } }>;
    };
    const { tags, queries } = datasources.datasources.find((d) => d.type === 'jaeger')!.jsonData.tracesToMetrics;
    // A span as the Jaeger query API returns it after the generated collector: service.name is only the
    // process's serviceName; the resource processor's service_name copy and the environment are process tags.
    const span = {
      operationName: 'llm.generate',
      process: {
        serviceName: 'loom-test-agent',
        tags: [
          { key: 'deployment.environment', value: 'development' },
          { key: 'deployment.environment.name', value: 'development' },
          { key: 'service_name', value: 'loom-test-agent' },
        ],
      },
      tags: [{ key: 'llm.model', value: 'deepseek-chat' }],
    };
    const selector = formattedTags(span, tags);
    expect(selector).toBe('deployment_environment="development", service_name="loom-test-agent", span_name="llm.generate"');
    // Grafana reads `$$` in provisioning files as a literal `$`.
    const expanded = queries.map((q) => q.query.replaceAll('$$', '$').replaceAll('$__tags', selector));
    for (const query of expanded) expect(query).toContain(`{${selector}}`);

    if (!requireTool('promtool', 'apt-get install prometheus')) return;
    const rules = { groups: [{ name: 'links', rules: expanded.map((expr, i) => ({ record: `loom:link_${i}`, expr })) }] };
    const file = path.join(work.dir, 'link-rules.yml');
    await writeFile(file, stringify(rules));
    const run = await execa('promtool', ['check', 'rules', file], { reject: false });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
  });

  it('the generated collector makes that service_name process tag', async () => {
    const collector = parse(await read(parts, 'otel-collector.yaml')) as { processors: { resource: { attributes: Array<Record<string, string>> } } };
    expect(collector.processors.resource.attributes).toContainEqual({ key: 'service_name', from_attribute: 'service.name', action: 'insert' });
  });
});
