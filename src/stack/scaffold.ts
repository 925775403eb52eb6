/**
 * What `init` does, without printing: load the existing stack (if any), check the target directory,
 * render every file in memory, then either compare (--check) or plan and apply the writes.
 */
import { accessSync, constants } from 'node:fs';
import { ActionError, CliError, UsageError } from '../errors.js';
import { nearestExisting, refuseLinks } from './confine.js';
import { findStack, MANIFEST_FILE, MANIFEST_VERSION, type StackManifest } from './manifest.js';
import { buildStackModel, type StackModel, type StackOptions } from './model.js';
import { defaultOptions } from './options.js';
import { ENV_FILE, generatePassword, passwordFromEnvFile } from './render/env.js';
import { renderStack, type GeneratedFile } from './render/index.js';
import { GRAFANA_SECRET_FILE, passwordFromSecretFile } from './render/kubernetes.js';
import { isKubernetes } from './kubernetes.js';
import { findDrift, planWrite, readIfExists, type DriftedFile, type FilePlan } from './write.js';

export interface ExistingStack {
  dir: string;
  manifest?: StackManifest;
}

/**
 * Reads the stack manifest in `dir`. A manifest that cannot be used is an error, unless `force`
 * (then the stack is treated as new, and every existing file as edited).
 */
export async function loadExistingStack(dir: string, force: boolean): Promise<ExistingStack> {
  await refuseLinks(dir, MANIFEST_FILE);
  try {
    const found = await findStack(dir);
    return { dir, manifest: found?.manifest };
  } catch (error) {
    if (force && error instanceof CliError) return { dir };
    throw error;
  }
}

/** The options a run starts from: those of the existing stack, else the defaults. */
export function baseOptions(existing: ExistingStack): StackOptions {
  return existing.manifest ? structuredClone(existing.manifest.options) : defaultOptions();
}

/** Fails with exit 2 (naming --dir) when the stack directory cannot be created or written. */
export async function checkDirectoryWritable(dir: string): Promise<void> {
  const { existing } = await nearestExisting(dir);
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EACCES';
    throw new UsageError(
      `--dir ${dir}: ${existing === dir ? 'the directory' : `${existing} (where it would be created)`} is not writable (${code}).`,
      'Choose another --dir, or fix the permissions of that directory.',
    );
  }
}

export interface Rendering {
  model: StackModel;
  files: GeneratedFile[];
}

/** Renders the stack in memory. The Grafana password is kept from an existing .env, else generated for a stack with Grafana. */
export async function renderInMemory(dir: string, options: StackOptions): Promise<Rendering> {
  const model = buildStackModel(options);
  const envText = await readIfExists(dir, ENV_FILE);
  const secretText = await readIfExists(dir, GRAFANA_SECRET_FILE);
  const fromEnv = envText === undefined ? undefined : passwordFromEnvFile(envText);
  const fromSecret = secretText === undefined ? undefined : passwordFromSecretFile(secretText);
  // Either file may hold it: a stack moved between targets keeps its Grafana login. A kept password stays
  // even while Grafana is left out: Grafana's data volume keeps it.
  const kept = isKubernetes(options) ? (fromSecret ?? fromEnv) : (fromEnv ?? fromSecret);
  const grafanaPassword = kept ?? (options.parts.grafana ? generatePassword() : undefined);
  return { model, files: renderStack(model, { grafanaPassword }) };
}

export async function planInit(existing: ExistingStack, options: StackOptions, force: boolean): Promise<{ rendering: Rendering; plan: FilePlan }> {
  const rendering = await renderInMemory(existing.dir, options);
  const plan = await planWrite(
    existing.dir,
    rendering.files,
    existing.manifest,
    { tool: 'loom-otel', manifestVersion: MANIFEST_VERSION, options },
    force,
  );
  return { rendering, plan };
}

/** --check: what differs from a fresh rendering of the recorded options (plus any flags). */
export async function checkInit(existing: ExistingStack, options: StackOptions): Promise<{ rendering: Rendering; drift: DriftedFile[] }> {
  if (!existing.manifest) {
    throw new ActionError(
      `No loom-otel stack in ${existing.dir} (no loom-otel.json), so there is nothing to check.`,
      `Run \`loom-otel init --dir ${existing.dir}\` first, or point --dir at the stack.`,
    );
  }
  const rendering = await renderInMemory(existing.dir, options);
  return { rendering, drift: await findDrift(existing.dir, rendering.files, existing.manifest) };
}
