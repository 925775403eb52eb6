/**
 * Compares a rendering with what is on disk and the manifest, decides what happens to each file, and
 * applies that atomically (temp file + rename in the same directory). A file whose content is not what
 * loom-otel last wrote was edited by the user: it is left alone unless `force`.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ActionError } from '../errors.js';
import { MANIFEST_FILE, serializeManifest, sha256, type StackManifest } from './manifest.js';
import type { GeneratedFile } from './render/index.js';

export type FileAction =
  /** Not on disk yet. */
  | 'create'
  /** On disk, untouched since loom-otel wrote it, and the new rendering differs. */
  | 'update'
  /** Already exactly what would be written. */
  | 'unchanged'
  /** Differs from what loom-otel wrote (or loom-otel never wrote it): left alone. */
  | 'keep-edited'
  /** Edited by the user, overwritten because of --force. */
  | 'overwrite'
  /** Generated before but not any more (a part was left out), untouched by the user: removed. */
  | 'remove'
  /** Generated before, not any more, but edited by the user: left alone (even with --force). */
  | 'keep-obsolete';

export interface PlannedFile {
  path: string;
  action: FileAction;
  /** keep-edited: the file was there before loom-otel wrote anything (the manifest has no digest of it). */
  foreign?: boolean;
  /** The new content, for actions that write. */
  file?: GeneratedFile;
}

export interface FilePlan {
  dir: string;
  files: PlannedFile[];
  /** The manifest to write once the files are in place. */
  manifest: StackManifest;
}

/** The file's content, or undefined when it does not exist. */
export async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fileError('read', file, error);
  }
}

/** A file loom-otel cannot read or write (a directory in its place, a parent that is a file, no permission). */
function fileError(verb: 'read' | 'write' | 'remove', file: string, error: unknown): ActionError {
  const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  return new ActionError(
    `Cannot ${verb} ${file} (${reason}).`,
    'Move whatever is in its place out of the way, or fix its permissions, then run the command again.',
  );
}

export async function planWrite(
  dir: string,
  files: readonly GeneratedFile[],
  previous: StackManifest | undefined,
  manifestBase: Omit<StackManifest, 'files'>,
  force: boolean,
): Promise<FilePlan> {
  const recorded = previous?.files ?? {};
  const planned: PlannedFile[] = [];
  const hashes: Record<string, string> = {};
  for (const file of files) {
    const current = await readIfExists(path.join(dir, file.path));
    const action = decide(current, file.content, recorded[file.path], force);
    planned.push({ path: file.path, action, file, ...(action === 'keep-edited' && recorded[file.path] === undefined ? { foreign: true } : {}) });
    // A file left alone keeps the digest loom-otel last wrote, so it still counts as edited next time.
    const digest = action === 'keep-edited' ? recorded[file.path] : sha256(file.content);
    if (digest) hashes[file.path] = digest;
  }
  const generated = new Set(files.map((f) => f.path));
  for (const [relative, digest] of Object.entries(recorded)) {
    if (generated.has(relative)) continue;
    const current = await readIfExists(path.join(dir, relative));
    if (current === undefined) continue;
    // Even --force never deletes a file the user edited: it only overwrites files that are still generated.
    planned.push({ path: relative, action: sha256(current) === digest ? 'remove' : 'keep-obsolete' });
  }
  return { dir, files: planned, manifest: { ...manifestBase, files: hashes } };
}

function decide(current: string | undefined, next: string, recordedDigest: string | undefined, force: boolean): FileAction {
  if (current === undefined) return 'create';
  if (current === next) return 'unchanged';
  if (recordedDigest !== undefined && sha256(current) === recordedDigest) return 'update';
  return force ? 'overwrite' : 'keep-edited';
}

/** Writes the plan: every file first, the manifest last (so an interrupted run is re-planned from the old one). */
export async function applyPlan(plan: FilePlan): Promise<void> {
  for (const entry of plan.files) {
    const target = path.join(plan.dir, entry.path);
    try {
      if (entry.file && (entry.action === 'create' || entry.action === 'update' || entry.action === 'overwrite')) {
        await writeAtomic(target, entry.file.content, entry.file.mode);
      } else if (entry.file && entry.action === 'unchanged') {
        await ensureMode(target, entry.file.mode);
      } else if (entry.action === 'remove') {
        await rm(target, { force: true });
      }
    } catch (error) {
      throw fileError(entry.action === 'remove' ? 'remove' : 'write', target, error);
    }
  }
  const manifestPath = path.join(plan.dir, MANIFEST_FILE);
  await writeAtomic(manifestPath, serializeManifest(plan.manifest), 0o644).catch((error: unknown) => {
    throw fileError('write', manifestPath, error);
  });
}

/** Temp file in the same directory, then rename: readers see the old file or the new one, never half of one. */
export async function writeAtomic(target: string, content: string, mode: number): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, content, { mode, flag: 'wx' });
    await chmod(temp, mode); // the umask may have narrowed it
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** A secret file that is already up to date still gets its restrictive mode back. */
async function ensureMode(target: string, mode: number): Promise<void> {
  const info = await stat(target);
  if ((info.mode & 0o777) !== mode) await chmod(target, mode);
}

export interface DriftedFile {
  path: string;
  /** `foreign`: there before loom-otel wrote anything (the manifest has no digest of it). */
  reason: 'missing' | 'edited' | 'foreign' | 'outdated';
  /** A unified diff from the file on disk (a/) to what init generates (b/); none for a missing file. */
  diff?: string;
}

/** Files whose content differs from the rendering; `edited` when it also differs from what loom-otel wrote. */
export async function findDrift(dir: string, files: readonly GeneratedFile[], manifest: StackManifest): Promise<DriftedFile[]> {
  const drifted: DriftedFile[] = [];
  for (const file of files) {
    const current = await readIfExists(path.join(dir, file.path));
    if (current === undefined) drifted.push({ path: file.path, reason: 'missing' });
    else if (current !== file.content) {
      const recorded = manifest.files[file.path];
      const reason = recorded === undefined ? 'foreign' : sha256(current) === recorded ? 'outdated' : 'edited';
      drifted.push({ path: file.path, reason, diff: await unifiedDiff(file.path, current, file.content) });
    }
  }
  return drifted;
}

async function unifiedDiff(relative: string, current: string, generated: string): Promise<string> {
  const { createTwoFilesPatch } = await import('diff');
  const patch = createTwoFilesPatch(`a/${relative}`, `b/${relative}`, current, generated, 'on disk', 'loom-otel init');
  // jsdiff opens with a line of '=' that `patch` and `git apply` do not need.
  return patch.replace(/^=+\n/, '');
}
