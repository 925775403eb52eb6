/**
 * Offline Kubernetes validation: kubeconform (built from the Go module proxy) against JSON schemas that
 * this helper generates from Go modules in the local module cache, so no test needs the network:
 * - core kinds: the OpenAPI v2 document of k8s.io/kubernetes (api/openapi-spec/swagger.json);
 * - OpenTelemetryCollector: the CRD in github.com/open-telemetry/opentelemetry-operator;
 * - ServiceMonitor: the CRD in github.com/prometheus-operator/prometheus-operator.
 * The schemas are "standalone strict" (every $ref inlined, no unknown field allowed), the layout
 * kubeconform's -schema-location template reads. .ci/run installs kubeconform and downloads the modules.
 */
import { execa, execaSync } from 'execa';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './cli.js';
import { E2E_CACHE } from './real-stack.js';
import { validatorsRequired } from './validators.js';

export const KUBE_TOOLS = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/kubernetes/tools.json'), 'utf8')) as {
  kubeconform: string;
  kustomize: string;
  kubernetes: string;
  opentelemetryOperator: string;
  prometheusOperator: string;
};
const KUBECONFORM = path.join(E2E_CACHE, `kubeconform-${KUBE_TOOLS.kubeconform}`, 'kubeconform');
/** kustomize (sigs.k8s.io/kustomize/kustomize/v5): what `kubectl apply -k` runs, to build the directory offline. */
const KUSTOMIZE = path.join(E2E_CACHE, `kustomize-${KUBE_TOOLS.kustomize}`, 'kustomize');

type Schema = Record<string, unknown>;

function modCache(): string | undefined {
  const run = execaSync('go', ['env', 'GOMODCACHE'], { reject: false });
  return run.exitCode === 0 ? run.stdout.trim() : undefined;
}

/** A module's directory in the local Go module cache (extracted by `go mod download`), if it is there. */
function moduleDir(module: string, version: string): string | undefined {
  const cache = modCache();
  if (!cache) return undefined;
  // The module cache escapes upper-case letters as !lower.
  const dir = path.join(cache, `${module.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`)}@${version}`);
  return existsSync(dir) ? dir : undefined;
}

const SOURCES = () => ({
  kubernetes: moduleDir('k8s.io/kubernetes', KUBE_TOOLS.kubernetes),
  otelOperator: moduleDir('github.com/open-telemetry/opentelemetry-operator', KUBE_TOOLS.opentelemetryOperator),
  promOperator: moduleDir('github.com/prometheus-operator/prometheus-operator', KUBE_TOOLS.prometheusOperator),
});

const INT_OR_STRING: Schema = { oneOf: [{ type: 'string' }, { type: 'integer' }] };
const QUANTITY: Schema = { oneOf: [{ type: 'string' }, { type: 'number' }] };

/** Inlines every $ref of an OpenAPI v2 definition; a recursive reference becomes {} (any value). */
function inline(node: unknown, definitions: Record<string, Schema>, seen: readonly string[]): unknown {
  if (Array.isArray(node)) return node.map((item) => inline(item, definitions, seen));
  if (node === null || typeof node !== 'object') return node;
  const object = node as Schema;
  if (typeof object.$ref === 'string') {
    const name = object.$ref.replace('#/definitions/', '');
    if (name === 'io.k8s.apimachinery.pkg.util.intstr.IntOrString') return INT_OR_STRING;
    if (name === 'io.k8s.apimachinery.pkg.api.resource.Quantity') return QUANTITY;
    if (seen.includes(name)) return {};
    return inline(definitions[name], definitions, [...seen, name]);
  }
  if (object.format === 'int-or-string') return INT_OR_STRING;
  return Object.fromEntries(Object.entries(object).map(([key, value]) => [key, key === 'properties' ? mapValues(value as Schema, (v) => inline(v, definitions, seen)) : inline(value, definitions, seen)]));
}

function mapValues(object: Schema, fn: (value: unknown) => unknown): Schema {
  return Object.fromEntries(Object.entries(object).map(([key, value]) => [key, fn(value)]));
}

/** Strict: an object schema with properties accepts no other field, unless it says it keeps unknown fields. */
function strict(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strict);
  if (node === null || typeof node !== 'object') return node;
  const object = node as Schema;
  if (object['x-kubernetes-int-or-string'] === true) return INT_OR_STRING;
  const out: Schema = {};
  for (const [key, value] of Object.entries(object)) out[key] = key === 'properties' ? mapValues(value as Schema, strict) : strict(value);
  if (out.properties && out.additionalProperties === undefined && object['x-kubernetes-preserve-unknown-fields'] !== true) out.additionalProperties = false;
  if (object.nullable === true && typeof object.type === 'string') out.type = [object.type, 'null'];
  return out;
}

function schemaFile(kind: string, group: string, version: string): string {
  return `${kind.toLowerCase()}${group ? `-${group.split('.')[0]}` : ''}-${version}.json`;
}

function writeCoreSchemas(kubernetesDir: string, out: string): void {
  const swagger = JSON.parse(readFileSync(path.join(kubernetesDir, 'api/openapi-spec/swagger.json'), 'utf8')) as { definitions: Record<string, Schema> };
  for (const [name, definition] of Object.entries(swagger.definitions)) {
    const kinds = definition['x-kubernetes-group-version-kind'] as Array<{ group: string; version: string; kind: string }> | undefined;
    if (!kinds) continue;
    const schema = strict(inline(definition, swagger.definitions, [name])) as Schema;
    for (const gvk of kinds) writeFileSync(path.join(out, schemaFile(gvk.kind, gvk.group, gvk.version)), JSON.stringify(schema));
  }
}

function writeCrdSchemas(crdFile: string, out: string): void {
  for (const doc of parseAllDocuments(readFileSync(crdFile, 'utf8'))) {
    const crd = doc.toJS() as { spec: { group: string; names: { kind: string }; versions: Array<{ name: string; schema: { openAPIV3Schema: Schema } }> } };
    for (const version of crd.spec.versions) {
      writeFileSync(path.join(out, schemaFile(crd.spec.names.kind, crd.spec.group, version.name)), JSON.stringify(strict(version.schema.openAPIV3Schema)));
    }
  }
}

/** The schema directory for the pinned versions, generated once into the cache; undefined when a source module is missing. */
export function kubeSchemaDir(): { dir?: string; missing: string[] } {
  const sources = SOURCES();
  const missing = Object.entries(sources).filter(([, dir]) => !dir).map(([name]) => name);
  if (missing.length > 0) return { missing };
  const dir = path.join(E2E_CACHE, 'kube-schemas', `${KUBE_TOOLS.kubernetes}-otelop-${KUBE_TOOLS.opentelemetryOperator}-promop-${KUBE_TOOLS.prometheusOperator}`);
  if (!existsSync(path.join(dir, '.complete'))) {
    mkdirSync(dir, { recursive: true });
    writeCoreSchemas(sources.kubernetes as string, dir);
    writeCrdSchemas(path.join(sources.otelOperator as string, 'config/crd/bases/opentelemetry.io_opentelemetrycollectors.yaml'), dir);
    writeCrdSchemas(path.join(sources.promOperator as string, 'example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml'), dir);
    writeFileSync(path.join(dir, '.complete'), '');
  }
  return { dir, missing: [] };
}

function kubeconformBinary(): string | undefined {
  if (existsSync(KUBECONFORM)) return KUBECONFORM;
  return execaSync('sh', ['-c', 'command -v kubeconform'], { reject: false }).stdout.trim() || undefined;
}

/**
 * Whether kubeconform and the schemas are there. Missing in CI (LOOM_OTEL_REQUIRE_VALIDATORS) is a
 * failure; on a developer's machine the tests that need them are skipped with this message.
 */
export function requireKubeconform(): boolean {
  const hint = `.ci/run installs them: kubeconform ${KUBE_TOOLS.kubeconform} and kustomize ${KUBE_TOOLS.kustomize} (go install) and the Go modules k8s.io/kubernetes@${KUBE_TOOLS.kubernetes}, opentelemetry-operator@${KUBE_TOOLS.opentelemetryOperator}, prometheus-operator@${KUBE_TOOLS.prometheusOperator} (go mod download)`;
  const binary = kubeconformBinary();
  const schemas = modCache() ? kubeSchemaDir() : { missing: ['go'] };
  const kustomize = existsSync(KUSTOMIZE);
  if (binary && kustomize && schemas.dir) return true;
  const what = [...(binary ? [] : ['kubeconform']), ...(kustomize ? [] : ['kustomize']), ...schemas.missing].join(', ');
  if (validatorsRequired) throw new Error(`Kubernetes validation needs ${what}, missing in CI: ${hint}`);
  console.warn(`Kubernetes validation skipped: ${what} missing (${hint}).`);
  return false;
}

export interface KubeconformResult {
  exitCode: number;
  resources: Array<{ filename: string; kind: string; name: string; version: string; status: string; msg: string }>;
  output: string;
}

/** `kustomize build DIR`: the resources `kubectl apply -k DIR` would send, as one multi-document YAML. */
export async function kustomizeBuild(dir: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const run = await execa(KUSTOMIZE, ['build', dir], { reject: false });
  return { exitCode: run.exitCode ?? 1, stdout: run.stdout, stderr: run.stderr };
}

/** kubeconform -strict over files (or YAML on stdin with `input`), offline, against the generated schemas. */
export async function kubeconform(files: string[], input?: string): Promise<KubeconformResult> {
  const { dir } = kubeSchemaDir();
  const run = await execa(
    kubeconformBinary() as string,
    ['-strict', '-summary', '-output', 'json', '-verbose', '-schema-location', `${dir}/{{ .ResourceKind }}{{ .KindSuffix }}.json`, ...(input === undefined ? files : ['-'])],
    { reject: false, ...(input === undefined ? {} : { input }) },
  );
  let resources: KubeconformResult['resources'] = [];
  try {
    resources = (JSON.parse(run.stdout) as { resources?: KubeconformResult['resources'] }).resources ?? [];
  } catch {
    // Not JSON: the raw output below says why.
  }
  return { exitCode: run.exitCode ?? 1, resources, output: `${run.stdout}\n${run.stderr}` };
}
