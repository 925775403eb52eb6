/**
 * The stack manifest (`loom-otel.json`), written by `init` next to the generated files. It records the
 * options (so `up`, `doctor` and `send-test-trace` find ports and URLs without flags, and `init` can
 * re-render) and a digest of every file as written (so a file the user edited is never overwritten).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ActionError } from '../errors.js';
import { buildStackModel, type StackModel, type StackOptions } from './model.js';

export const MANIFEST_FILE = 'loom-otel.json';
export const DEFAULT_STACK_DIR = 'observability';
export const MANIFEST_VERSION = 1;

export interface StackManifest {
  tool: 'loom-otel';
  manifestVersion: number;
  options: StackOptions;
  /** sha256 (hex) of each generated file as last written, by path relative to the stack directory. */
  files: Record<string, string>;
}

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

/**
 * Reads the manifest in `dir`. Returns undefined when there is none; throws an ActionError naming the
 * file and the fix when it exists but cannot be used.
 */
export async function findStack(dir: string): Promise<FoundStack | undefined> {
  const manifestPath = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ActionError(`Cannot read ${manifestPath}: ${(error as Error).message}`, 'Check the file permissions.');
  }
  const manifest = parseManifest(text, manifestPath);
  return { dir, manifestPath, manifest, model: buildStackModel(manifest.options) };
}

export function parseManifest(text: string, manifestPath: string): StackManifest {
  const fix = `Run \`loom-otel init --dir ${path.dirname(manifestPath)} --force\` to write it again.`;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ActionError(`${manifestPath} is not valid JSON: ${(error as Error).message}`, fix);
  }
  const manifest = data as Partial<StackManifest>;
  if (typeof data !== 'object' || data === null || manifest.tool !== 'loom-otel' || typeof manifest.options !== 'object') {
    throw new ActionError(`${manifestPath} is not a loom-otel stack manifest.`, fix);
  }
  if (manifest.manifestVersion !== MANIFEST_VERSION) {
    throw new ActionError(
      `${manifestPath} has manifest version ${String(manifest.manifestVersion)}; this loom-otel reads version ${MANIFEST_VERSION}.`,
      fix,
    );
  }
  return { files: {}, ...manifest } as StackManifest;
}

export function serializeManifest(manifest: StackManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
