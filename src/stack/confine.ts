/**
 * Keeps every path `init` reads, writes or removes inside the stack directory. Relative paths come from
 * the renderer and from `loom-otel.json` (which a pull request can change), so each one is checked for
 * shape, resolved, and walked one component at a time: a symbolic link anywhere below the stack
 * directory is refused rather than followed. Directories are created one level at a time and checked,
 * because Node's recursive mkdir never returns on file systems such as /proc.
 */
// Synchronous calls: these are single local metadata lookups, and init makes dozens of them; each
// asynchronous one would cost a round trip through libuv's thread pool (measured in bench/startup).
import { lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { ActionError, UsageError } from '../errors.js';
import { quote } from './schema.js';

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$|^\.[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** Why `relative` cannot name a file of the stack ('/'-separated, no '.', '..' or empty parts), or undefined. */
export function stackPathProblem(relative: string): string | undefined {
  if (relative.length === 0 || relative.length > 200) return 'expected a relative path of 1 to 200 characters';
  if (relative.split('/').every((segment) => SEGMENT.test(segment))) return undefined;
  return "expected a path inside the stack directory: parts of letters, digits, '.', '_' and '-' joined by '/', no '..'";
}

/** The absolute path of `relative` in `dir`; throws when it is malformed or would leave `dir`. */
export function insideStack(dir: string, relative: string): string {
  const target = path.resolve(dir, relative);
  const fromDir = path.relative(dir, target);
  if (stackPathProblem(relative) || fromDir === '' || fromDir.startsWith('..') || path.isAbsolute(fromDir)) {
    throw new ActionError(
      `Refusing ${quote(relative)}: it is not a path inside the stack directory ${dir}.`,
      `Correct the path in loom-otel.json, or run \`loom-otel init --dir ${dir} --force\` to write a new manifest.`,
    );
  }
  return target;
}

/** Why a file of a stack directory was not read: `message` is the reason, fit for "(...)" after a path. */
export class StackFileRefused extends Error {
  constructor(
    readonly reason: 'not a regular file' | 'too large',
    /** Its size in bytes. */
    readonly size: number,
  ) {
    super(reason);
  }
}

/**
 * The text of a file of a stack directory, or undefined when there is none. A FIFO or a device in its
 * place (a cloned repository can hold one) would block the read or never end it, and a file over
 * `maxBytes` is not one loom-otel wrote: both are refused (StackFileRefused) before anything is read. A
 * directory fails as Node says (EISDIR). Links are followed: a caller that must not follow them checks
 * with refuseLinks first.
 */
export function readStackFile(file: string, maxBytes = Number.POSITIVE_INFINITY): string | undefined {
  const info = statSync(file, { throwIfNoEntry: false });
  if (!info) return undefined;
  if (!info.isFile() && !info.isDirectory()) throw new StackFileRefused('not a regular file', info.size);
  if (info.size > maxBytes) throw new StackFileRefused('too large', info.size);
  return readFileSync(file, 'utf8');
}

/** Undefined when missing, or unreadable. Missing is the common case: no exception to build for it. */
function lstatOrUndefined(file: string): Stats | undefined {
  try {
    return lstatSync(file, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

function linkTarget(link: string): string {
  try {
    return readlinkSync(link);
  } catch {
    return '?';
  }
}

function linkError(link: string, target: string): ActionError {
  return new ActionError(
    `${link} is a symbolic link (to ${quote(target, 200)}); loom-otel does not read or write through links inside the stack directory. Nothing was written.`,
    `Replace the link with a real directory or file (or remove it), or choose another --dir.`,
  );
}

/** Resolves `relative` in `dir` and refuses a symbolic link on the way, the file itself included. */
export async function refuseLinks(dir: string, relative: string): Promise<string> {
  const target = insideStack(dir, relative);
  let current = dir;
  for (const segment of relative.split('/')) {
    current = path.join(current, segment);
    const info = lstatOrUndefined(current);
    // missing (or unreadable): the read or write that follows names the cause
    if (!info) return target;
    if (info.isSymbolicLink()) throw linkError(current, linkTarget(current));
  }
  return target;
}

/** The deepest existing ancestor of `dir` (itself included) and the directories below it still to create. */
export async function nearestExisting(dir: string): Promise<{ existing: string; missing: string[] }> {
  const fix = 'Choose another --dir, or fix the permissions of that directory.';
  const missing: string[] = [];
  let probe = dir;
  for (;;) {
    let info: Stats | undefined;
    try {
      info = statSync(probe, { throwIfNoEntry: false });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') throw new UsageError(`--dir ${dir}: a part of that path is a file, not a directory.`, fix);
      throw new UsageError(`--dir ${dir}: cannot use ${probe} (${code ?? (error as Error).message}).`, fix);
    }
    if (info) {
      if (!info.isDirectory()) throw new UsageError(`--dir ${dir}: ${probe} exists and is not a directory.`, fix);
      return { existing: probe, missing };
    }
    const parent = path.dirname(probe);
    if (parent === probe) throw new UsageError(`--dir ${dir}: no part of that path exists.`, fix);
    missing.unshift(probe);
    probe = parent;
  }
}

/**
 * Creates the stack directory and its missing ancestors, one level at a time, checking each: a file
 * system that refuses new directories (/proc, /sys) ends with exit 2. Appends what it made to `created`.
 */
export async function createStackDirectory(dir: string, created: string[]): Promise<void> {
  for (const directory of (await nearestExisting(dir)).missing) {
    await makeOneDirectory(directory, created, (reason) =>
      new UsageError(`--dir ${dir}: cannot create ${directory} (${reason}).`, 'Choose a --dir on a file system that takes new directories, such as one under your home.'),
    );
  }
}

/** Creates `relativeDir` inside the stack directory one level at a time, refusing a link on the way. */
export async function createInsideStack(dir: string, relativeDir: string, created: string[]): Promise<void> {
  if (relativeDir === '.' || relativeDir === '') return;
  insideStack(dir, relativeDir);
  let current = dir;
  for (const segment of relativeDir.split('/')) {
    current = path.join(current, segment);
    const directory = current;
    const info = lstatOrUndefined(directory);
    if (info?.isSymbolicLink()) throw linkError(directory, linkTarget(directory));
    if (info?.isDirectory()) continue;
    await makeOneDirectory(directory, created, (reason) =>
      new ActionError(`Cannot create the directory ${directory} (${reason}).`, 'Move whatever is in its place out of the way, or fix its permissions, then run the command again.'),
    );
  }
}

async function makeOneDirectory(directory: string, created: string[], fail: (reason: string) => Error): Promise<void> {
  try {
    mkdirSync(directory);
    created.push(directory);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') throw fail(code ?? (error as Error).message);
  }
  const info = lstatOrUndefined(directory);
  if (!info?.isDirectory()) throw fail(info ? 'something that is not a directory is in its place' : 'it does not exist after mkdir');
}
