/**
 * The stack manifest (`loom-otel.json`), written by `init` next to the generated files. It records the
 * options (so `up`, `doctor` and `send-test-trace` find ports and URLs without flags, and `init` can
 * re-render) and a digest of every file as written (so a file the user edited is never overwritten).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { ActionError, UsageError } from '../errors.js';
import { readStackFile, StackFileRefused, stackPathProblem } from './confine.js';
import { COLLECTOR_MODES, dnsLabelProblem, GRAFANA_MODES, PROMETHEUS_MODES } from './kubernetes.js';
import { buildStackModel, STACK_TARGETS, type KubernetesOptions, type StackModel, type StackOptions } from './model.js';
import { composeNameProblem, environmentProblem, portProblem, samplingProblem } from './options.js';
import { boolean, literal, number, object, oneOf, optional, record, string, type Infer, type Schema, type SchemaIssue } from './schema.js';

export const MANIFEST_FILE = 'loom-otel.json';
export const DEFAULT_STACK_DIR = 'observability';
export const MANIFEST_VERSION = 1;

const port = () => number('a whole number from 1 to 65535', portProblem);

/** `options.kubernetes`: written with every field filled in, so none is optional. */
const KUBERNETES_SCHEMA: Schema<KubernetesOptions> = object({
  namespace: string('a Kubernetes name', (value) => dnsLabelProblem(value)),
  collector: oneOf(...COLLECTOR_MODES),
  prometheus: oneOf(...PROMETHEUS_MODES),
  prometheusRelease: string('a Helm release name', (value) => dnsLabelProblem(value, 53)),
  prometheusNamespace: string('a Kubernetes name', (value) => dnsLabelProblem(value)),
  grafana: oneOf(...GRAFANA_MODES),
  helmValues: boolean(),
});

/**
 * The schema of `options`: every field a user chooses. Typed against StackOptions, so a field added
 * there fails to compile until it is added here. A field older manifests lack is `optional(schema,
 * default)`, e.g. `target: optional(oneOf('compose', 'kubernetes'), 'compose')`.
 */
const OPTIONS_SCHEMA: Schema<StackOptions> = object({
  target: optional(oneOf(...STACK_TARGETS), 'compose'),
  kubernetes: optional<KubernetesOptions | undefined>(KUBERNETES_SCHEMA, undefined),
  name: string('a Compose project name', composeNameProblem),
  parts: object({ jaeger: boolean(), prometheus: boolean(), grafana: boolean() }),
  ports: object({
    otlpGrpc: port(),
    otlpHttp: port(),
    collectorHealth: port(),
    collectorMetrics: port(),
    jaegerUi: port(),
    prometheus: port(),
    grafana: port(),
  }),
  expose: boolean(),
  environment: string('an environment name', environmentProblem),
  samplingPercent: number('a number from 0 to 100', samplingProblem),
});

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The whole manifest. Unknown fields are refused: a typo ("expsoe") must not be silently ignored. */
const MANIFEST_SCHEMA = object({
  tool: literal('loom-otel'),
  manifestVersion: literal(MANIFEST_VERSION),
  options: OPTIONS_SCHEMA,
  /** sha256 (hex) of each generated file as last written, by path relative to the stack directory. */
  files: optional(
    record(
      (file) => (file === MANIFEST_FILE ? 'the manifest cannot list itself' : stackPathProblem(file)),
      string('a sha256 digest', (digest) => (SHA256_HEX.test(digest) ? undefined : 'expected a sha256 digest (64 lowercase hex digits)')),
    ),
    {},
  ),
});

export type StackManifest = Infer<typeof MANIFEST_SCHEMA>;

export interface FoundStack {
  /** Absolute path of the stack directory. */
  dir: string;
  manifestPath: string;
  manifest: StackManifest;
  model: StackModel;
}

export function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** The stack directory a command uses: `--dir`, else `./observability` under `cwd`. */
export function stackDir(dirFlag: string | undefined, cwd = process.cwd()): string {
  return path.resolve(cwd, dirFlag ?? DEFAULT_STACK_DIR);
}

/** Far above any real manifest (about 2 KB), far below what would hurt to read. */
const MAX_MANIFEST_BYTES = 1024 * 1024;

/**
 * Reads the manifest in `dir`. Returns undefined when there is none; throws a CliError naming the file
 * and the fix when it cannot be read (exit 1) or is not a valid manifest (exit 2, see parseManifest).
 */
export async function findStack(dir: string): Promise<FoundStack | undefined> {
  const manifestPath = path.join(dir, MANIFEST_FILE);
  let text: string | undefined;
  try {
    // Synchronous: one small local file, and node:fs/promises need not load for it.
    text = readStackFile(manifestPath, MAX_MANIFEST_BYTES);
  } catch (error) {
    if (error instanceof StackFileRefused && error.reason === 'not a regular file') {
      throw new ActionError(
        `${manifestPath} is not a regular file, so loom-otel does not read it.`,
        `Remove it (loom-otel never writes one), or run \`loom-otel init --dir ${dir} --force\` to put a new manifest in its place.`,
      );
    }
    if (error instanceof StackFileRefused) {
      throw new ActionError(
        `${manifestPath} is ${error.size} bytes; a loom-otel manifest is a few kilobytes, so loom-otel does not read it.`,
        `Run \`loom-otel init --dir ${dir} --force\` to write it again (options from flags, else defaults).`,
      );
    }
    throw new ActionError(`Cannot read ${manifestPath}: ${(error as Error).message}`, 'Check the file permissions.');
  }
  if (text === undefined) return undefined;
  const manifest = parseManifest(text, manifestPath);
  return { dir, manifestPath, manifest, model: buildStackModel(manifest.options) };
}

/**
 * Parses and validates a manifest. Every problem is an exit-2 error naming the file, each bad field,
 * what was expected and what was found; nothing is read from a manifest that fails.
 */
export function parseManifest(text: string, manifestPath: string): StackManifest {
  const fix = `Correct it, or run \`loom-otel init --dir ${path.dirname(manifestPath)} --force\` to write it again (options from flags, else defaults).`;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${manifestPath} is not valid JSON: ${(error as Error).message}`, fix);
  }
  const manifest = data as Partial<StackManifest> | null;
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest) || manifest.tool !== 'loom-otel') {
    throw new UsageError(`${manifestPath} is not a loom-otel stack manifest (no "tool": "loom-otel").`, fix);
  }
  if (manifest.manifestVersion !== MANIFEST_VERSION) {
    throw new UsageError(
      `${manifestPath} has manifest version ${JSON.stringify(manifest.manifestVersion)}; this loom-otel reads version ${MANIFEST_VERSION}.`,
      fix,
    );
  }
  const issues: SchemaIssue[] = [];
  const parsed = MANIFEST_SCHEMA.read(manifest, '', issues);
  if (issues.length > 0) {
    const shown = issues.slice(0, 10).map((issue) => `\n  ${issue.path}: ${issue.message}`);
    const more = issues.length > shown.length ? `\n  ... and ${issues.length - shown.length} more` : '';
    throw new UsageError(`${manifestPath} is not a valid stack manifest:${shown.join('')}${more}`, fix);
  }
  return parsed;
}

export function serializeManifest(manifest: StackManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
