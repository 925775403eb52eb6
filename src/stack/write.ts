/**
 * Compares a rendering with what is on disk and the manifest, decides what happens to each file, and
 * applies that as one step (every file staged under a temporary name, then renamed into place). A file
 * whose content is not what loom-otel last wrote was edited by the user: it is left alone unless `force`.
 * Every path is confined to the stack directory, and no symbolic link inside it is followed.
 */
import { randomBytes } from 'node:crypto';
// Synchronous file calls: each asynchronous one is a round trip through libuv's thread pool, and a fresh
// stack takes about 150 of them; applyPlan yields to the event loop between files so signals are still seen.
import { chmodSync, lstatSync, readdirSync, renameSync, rmdirSync, rmSync, writeFileSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { ActionError, CliError, InterruptedError } from '../errors.js';
import { createInsideStack, createStackDirectory, insideStack, readStackFile, refuseLinks } from './confine.js';
import { MASK } from '../output/redact.js';
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

/** The content of `relative` in the stack directory, or undefined when it does not exist. Never through a link. */
export async function readIfExists(dir: string, relative: string): Promise<string | undefined> {
  const file = await refuseLinks(dir, relative);
  try {
    return readStackFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fileError('read', file, error);
  }
}

/** A file loom-otel cannot read or write (a directory in its place, a parent that is a file, no permission). */
function fileError(verb: 'read' | 'write' | 'remove', file: string, error: unknown): Error {
  if (error instanceof CliError) return error;
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
    const current = await readIfExists(dir, file.path);
    const action = decide(current, file.content, recorded[file.path], force);
    planned.push({ path: file.path, action, file, ...(action === 'keep-edited' && recorded[file.path] === undefined ? { foreign: true } : {}) });
    // A file left alone keeps the digest loom-otel last wrote, so it still counts as edited next time.
    const digest = action === 'keep-edited' ? recorded[file.path] : sha256(file.content);
    if (digest) hashes[file.path] = digest;
  }
  const generated = new Set(files.map((f) => f.path));
  for (const [relative, digest] of Object.entries(recorded)) {
    if (generated.has(relative)) continue;
    const current = await readIfExists(dir, relative);
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

/**
 * Writes the plan as one step. Stage: every new content goes to a temporary name next to its target
 * (the manifest too), creating directories as needed. Commit: renames, mode fixes and removals, the
 * manifest last. A failure or a signal (Ctrl-C) while staging removes everything staged and created, so
 * nothing was written; a signal during the commit (renames only, milliseconds) waits until it is done.
 */
export async function applyPlan(plan: FilePlan): Promise<void> {
  const signals = holdSignals();
  const staged: { temp: string; target: string }[] = [];
  const created: string[] = [];
  try {
    await createStackDirectory(plan.dir, created);
    const writes = plan.files.filter((entry) => entry.file && WRITES.has(entry.action));
    for (const entry of writes) {
      const file = entry.file as GeneratedFile;
      await signals.deliverIfDue();
      signals.throwIfReceived();
      const target = await refuseLinks(plan.dir, file.path);
      await createInsideStack(plan.dir, path.posix.dirname(file.path), created);
      staged.push({ temp: stage(target, file.content, file.mode), target });
    }
    // Staged last and renamed last: until then a re-run plans from the old manifest.
    const manifestPath = await refuseLinks(plan.dir, MANIFEST_FILE);
    staged.push({ temp: stage(manifestPath, serializeManifest(plan.manifest), 0o644), target: manifestPath });
    await signals.deliver();
    signals.throwIfReceived();
  } catch (error) {
    for (const { temp } of staged) rmSync(temp, { force: true });
    for (const directory of created.reverse()) {
      try {
        rmdirSync(directory);
      } catch {
        // not empty (something else was put there) or already gone: leave it
      }
    }
    signals.release();
    throw error;
  }
  try {
    const commitFile = ({ temp, target }: { temp: string; target: string }) => {
      try {
        renameSync(temp, target);
      } catch (error) {
        throw fileError('write', target, error);
      }
    };
    for (const file of staged.slice(0, -1)) commitFile(file);
    for (const entry of plan.files) {
      const target = insideStack(plan.dir, entry.path);
      if (entry.file && entry.action === 'unchanged') ensureMode(target, entry.file.mode);
      else if (entry.action === 'remove') {
        try {
          rmSync(target, { force: true });
        } catch (error) {
          throw fileError('remove', target, error);
        }
      }
    }
    commitFile(staged.at(-1) as { temp: string; target: string });
    removeStaleTemps(plan, new Set(created));
    // A signal that arrived during the commit is recorded before the handlers are released.
    await signals.deliver();
  } finally {
    signals.release();
  }
  if (signals.received) {
    throw new InterruptedError(`Interrupted (${signals.received}) while the stack was being committed; the commit was finished first, so every file is written.`);
  }
}

const WRITES: ReadonlySet<FileAction> = new Set(['create', 'update', 'overwrite']);

/** `.<name>.<12 hex>.tmp`: the temporary name of a staged file, next to its target. */
const tempName = (target: string, suffix: string) => `.${path.basename(target)}.${suffix}.tmp`;

/** Writes `content` to a new temporary file next to `target` and returns its path. */
function stage(target: string, content: string, mode: number): string {
  const temp = path.join(path.dirname(target), tempName(target, randomBytes(6).toString('hex')));
  try {
    writeFileSync(temp, content, { mode, flag: 'wx' });
    chmodSync(temp, mode); // the umask may have narrowed it
    return temp;
  } catch (error) {
    rmSync(temp, { force: true });
    throw fileError('write', target, error);
  }
}

/**
 * Temporary files a killed run (SIGKILL, power loss: nothing could clean up) left next to the files of
 * this stack. Only regular files named exactly like one of our staged files are removed. A directory
 * this run created held none.
 */
function removeStaleTemps(plan: FilePlan, createdNow: ReadonlySet<string>): void {
  const targets = [MANIFEST_FILE, ...plan.files.map((entry) => entry.path)];
  const byDirectory = new Map<string, Set<string>>();
  for (const relative of targets) {
    const directory = path.posix.dirname(relative);
    byDirectory.set(directory, (byDirectory.get(directory) ?? new Set()).add(path.posix.basename(relative)));
  }
  for (const [relativeDir, names] of byDirectory) {
    const directory = relativeDir === '.' ? plan.dir : insideStack(plan.dir, relativeDir);
    if (createdNow.has(directory)) continue;
    let entries: Dirent[] = [];
    try {
      entries = readdirSync(directory, { withFileTypes: true });
    } catch {
      // not there (or unreadable): nothing of ours to remove
    }
    for (const entry of entries) {
      const match = /^\.(.+)\.[0-9a-f]{12}\.tmp$/.exec(entry.name);
      if (entry.isFile() && match && names.has(match[1] as string)) rmSync(path.join(directory, entry.name), { force: true });
    }
  }
}

/** How long staging may go on before a signal that arrived meanwhile is looked at. */
const SIGNAL_LATENCY_MS = 25;

/**
 * While init writes, Ctrl-C (SIGINT), SIGTERM and SIGHUP are recorded instead of ending the process, so
 * the write can be undone (while staging) or finished (while committing) before init exits 130.
 */
function holdSignals() {
  const names = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  let deliveredAt = performance.now();
  const state = {
    received: undefined as NodeJS.Signals | undefined,
    /**
     * Lets the event loop run its poll phase, where Node reads a signal that arrived during synchronous
     * writes and calls `record`: the second immediate runs only after a poll phase.
     */
    async deliver(): Promise<void> {
      for (let turn = 0; turn < 2; turn += 1) await new Promise((resolve) => setImmediate(resolve));
      deliveredAt = performance.now();
    },
    /**
     * deliver(), once SIGNAL_LATENCY_MS have passed since the last time: a fresh stack stages in a few
     * milliseconds (one delivery at the end), a slow disk still sees Ctrl-C between files.
     */
    async deliverIfDue(): Promise<void> {
      if (performance.now() - deliveredAt >= SIGNAL_LATENCY_MS) await state.deliver();
    },
    throwIfReceived(): void {
      if (state.received) throw new InterruptedError(`Interrupted (${state.received}); nothing was written.`);
    },
    release(): void {
      for (const name of names) process.off(name, record);
    },
  };
  function record(signal: NodeJS.Signals): void {
    state.received ??= signal;
  }
  for (const name of names) process.on(name, record);
  return state;
}

/** A secret file that is already up to date still gets its restrictive mode back (never through a link). */
function ensureMode(target: string, mode: number): void {
  const info = lstatSync(target);
  if (info.isFile() && (info.mode & 0o777) !== mode) chmodSync(target, mode);
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
    const current = await readIfExists(dir, file.path);
    if (current === undefined) drifted.push({ path: file.path, reason: 'missing' });
    else if (current !== file.content) {
      const recorded = manifest.files[file.path];
      const reason = recorded === undefined ? 'foreign' : sha256(current) === recorded ? 'outdated' : 'edited';
      const secret = (file.mode & 0o077) === 0;
      const diff = secret ? await unifiedDiff(file.path, hideSecretValues(current), hideSecretValues(file.content)) : await unifiedDiff(file.path, current, file.content);
      drifted.push({ path: file.path, reason, diff });
    }
  }
  return drifted;
}

/** `GF_SECURITY_ADMIN_PASSWORD=...` (.env) or `GF_SECURITY_ADMIN_PASSWORD: ...` (a Secret's stringData). */
const SECRET_ASSIGNMENT = /^(\s*[A-Za-z0-9_]*(?:PASSWORD|SECRET|TOKEN)[A-Za-z0-9_]*\s*[=:][ \t]*)\S.*$/gim;

/** A diff of a secret file goes to a terminal, a CI log or a saved patch: its values are masked on both sides. */
function hideSecretValues(text: string): string {
  return text.replace(SECRET_ASSIGNMENT, `$1${MASK}`);
}

async function unifiedDiff(relative: string, current: string, generated: string): Promise<string> {
  const { createTwoFilesPatch } = await import('diff');
  const patch = createTwoFilesPatch(`a/${relative}`, `b/${relative}`, current, generated, 'on disk', 'loom-otel init');
  // jsdiff opens with a line of '=' that `patch` and `git apply` do not need.
  return patch.replace(/^=+\n/, '');
}
