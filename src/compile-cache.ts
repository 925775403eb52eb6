/**
 * A V8 code cache for the CommonJS start-up bundles (dist/cli.cjs, dist/init.cjs): what Node 22's
 * `module.enableCompileCache()` does, for the Node 20 line. Compiling those two files is about a tenth
 * of what `init --yes` costs; with the bytecode V8 made on the previous run (the functions that ran
 * included) that goes to almost nothing. On Node >= 22.1 Node's own cache is used instead.
 *
 * The cache is the user's own: `$XDG_CACHE_HOME/loom-otel/compile-cache` (else `~/.cache/...`), created
 * 0700, because V8 trusts the bytecode it is given. Each entry records the Node version, the bundle's
 * path, size and modification time, so a rebuilt or upgraded bundle is compiled afresh (V8 itself
 * checks little more than the length). Anything that goes wrong (no home, a read-only or full disk, a
 * damaged entry) falls back to a plain compile without a word. NODE_DISABLE_COMPILE_CACHE turns it
 * off, as it does Node's own.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import { constants, Script } from 'node:vm';

type Compile = (this: Module, content: string, filename: string) => unknown;

/** Caches the compiled code of the `.cjs` files directly in `bundleDir`. */
export function enableCompileCache(bundleDir: string, env: NodeJS.ProcessEnv = process.env): void {
  if (env.NODE_DISABLE_COMPILE_CACHE) return;
  const nodeCache = (Module as unknown as { enableCompileCache?: () => unknown }).enableCompileCache;
  if (typeof nodeCache === 'function') {
    nodeCache();
    return;
  }
  // XDG: a relative $XDG_CACHE_HOME is invalid and ignored.
  const xdg = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : undefined;
  const base = xdg ?? (env.HOME && path.isAbsolute(env.HOME) ? path.join(env.HOME, '.cache') : undefined);
  if (!base) return;
  const cacheDir = path.join(base, 'loom-otel', 'compile-cache');
  const toWrite: { script: Script; entry: string; stamp: Buffer }[] = [];
  const prototype = Module.prototype as unknown as { _compile: Compile };
  const plainCompile = prototype._compile;

  prototype._compile = function compileWithCache(content, filename) {
    if (path.dirname(filename) !== bundleDir || !filename.endsWith('.cjs')) return plainCompile.call(this, content, filename);
    let script: Script;
    let entry: string;
    let stamp: Buffer;
    try {
      const { size, mtimeMs } = statSync(filename);
      stamp = Buffer.from(`${process.version}\0${filename}\0${size}\0${mtimeMs}\0`);
      entry = path.join(cacheDir, `${path.basename(filename)}.v8`);
      const cachedData = readEntry(entry, stamp);
      // import() in the bundle (the ES module commands) resolves as it would in a plain require.
      script = new Script(Module.wrap(content), { filename, cachedData, importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
      if (!cachedData || script.cachedDataRejected) toWrite.push({ script, entry, stamp });
    } catch {
      return plainCompile.call(this, content, filename);
    }
    const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    return wrapper.call(this.exports, this.exports, createRequire(filename), this, filename, bundleDir);
  };

  // At exit, so the entry also holds the functions this run compiled lazily.
  process.once('exit', () => {
    for (const { script, entry, stamp } of toWrite) writeEntry(cacheDir, entry, Buffer.concat([stamp, script.createCachedData()]));
  });
}

/**
 * import() for the start-up bundles. Code V8 takes from a cache has no module loader to call for an
 * import() on Node 20, so scripts/build.js makes their imports of the ES module commands (`./up.js`)
 * calls of this, from a module Node compiled itself.
 */
export function importFromBundle(specifier: string): Promise<unknown> {
  return import(new URL(specifier, import.meta.url).href);
}

/** The V8 data of `entry` when it was made for exactly this bundle file and Node, else undefined. */
function readEntry(entry: string, stamp: Buffer): Buffer | undefined {
  let data: Buffer;
  try {
    data = readFileSync(entry);
  } catch {
    return undefined;
  }
  return data.length > stamp.length && data.subarray(0, stamp.length).equals(stamp) ? data.subarray(stamp.length) : undefined;
}

/** Written under a temporary name and renamed, so a concurrent run never reads half an entry. */
function writeEntry(cacheDir: string, entry: string, data: Buffer): void {
  const temp = `${entry}.${process.pid}.tmp`;
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    writeFileSync(temp, data, { mode: 0o600 });
    renameSync(temp, entry);
  } catch {
    try {
      rmSync(temp, { force: true });
    } catch {
      // not ours to clean up
    }
  }
}
