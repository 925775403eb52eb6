/**
 * The start-up bundles' code cache (src/compile-cache.ts), seen as a user sees it: runs with and without
 * a cache give the same output and the same stack, the cache is private to the user, and a damaged,
 * stale or unwritable cache changes nothing but speed.
 */
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, readFiles, runCli, tempDir } from './helpers/cli.js';

let work: { dir: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  work = await tempDir('loom-otel-compile-cache-');
});
afterEach(async () => {
  await work.cleanup();
});

const cacheDir = () => path.join(work.dir, 'cache', 'loom-otel', 'compile-cache');
/** What an entry is stamped with: Node's version, the bundle's path, size and modification time. */
const stampOf = (entry: Buffer) => {
  let end = 0;
  for (let field = 0; field < 4; field += 1) end = entry.indexOf(0, end) + 1;
  return entry.subarray(0, end).toString('latin1');
};
const envWith = (extra: Record<string, string> = {}) => cleanEnv({ XDG_CACHE_HOME: path.join(work.dir, 'cache'), ...extra });

describe('the start-up code cache', () => {
  it('is written on the first run, private to the user, and a cached run does exactly what an uncached one does', async () => {
    const first = await runCli(['init', '--yes', '--dir', path.join(work.dir, 'first')], { env: envWith() });
    expect(first.exitCode).toBe(0);
    expect((await readdir(cacheDir())).sort()).toEqual(['cli.cjs.v8', 'init.cjs.v8']);
    expect((await stat(cacheDir())).mode & 0o777).toBe(0o700);
    for (const entry of await readdir(cacheDir())) expect((await stat(path.join(cacheDir(), entry))).mode & 0o777).toBe(0o600);

    const cached = await runCli(['init', '--yes', '--dir', path.join(work.dir, 'cached')], { env: envWith() });
    const uncached = await runCli(['init', '--yes', '--dir', path.join(work.dir, 'uncached')], { env: envWith({ NODE_DISABLE_COMPILE_CACHE: '1' }) });
    expect(cached.exitCode).toBe(0);
    expect(cached.stderr).toBe('');
    expect(cached.stdout.replaceAll('cached', 'DIR')).toBe(uncached.stdout.replaceAll('uncached', 'DIR'));
    // The Grafana password is random: in .env, and so in the manifest's digest of it.
    const withoutPassword = (files: Record<string, string>) => ({
      ...files,
      '.env': files['.env']?.replace(/PASSWORD=.*/, 'PASSWORD='),
      'loom-otel.json': files['loom-otel.json']?.replace(/"\.env": "[0-9a-f]+"/, '".env": ""'),
    });
    expect(withoutPassword(await readFiles(path.join(work.dir, 'cached')))).toEqual(withoutPassword(await readFiles(path.join(work.dir, 'uncached'))));
  });

  it('still loads the ES module commands when the command tree comes from the cache', async () => {
    const env = envWith();
    const first = await runCli(['completion', 'bash'], { env });
    const second = await runCli(['completion', 'bash'], { env });
    expect(first.exitCode).toBe(0);
    expect(second.exitCode).toBe(0);
    expect(second.stderr).toBe('');
    expect(second.stdout).toBe(first.stdout);
    expect(second.stdout).toContain('complete');
  });

  it('replaces a damaged entry, and an entry made for another build of the bundle, without a word', async () => {
    await runCli(['--version'], { env: envWith() });
    const entry = path.join(cacheDir(), 'cli.cjs.v8');
    const good = await readFile(entry);
    await writeFile(entry, 'not V8 data at all');
    const damaged = await runCli(['--help'], { env: envWith() });
    expect(damaged.exitCode).toBe(0);
    expect(damaged.stderr).toBe('');
    expect(damaged.stdout).toContain('Usage: loom-otel');
    expect(stampOf(await readFile(entry))).toBe(stampOf(good)); // rewritten for this build

    // The same V8 data stamped for a bundle of another size: used, it would run another build's code.
    const stale = Buffer.from(good.toString('latin1').replace(/\0(\d+)\0/, (_, size: string) => `\0${Number(size) + 1}\0`), 'latin1');
    expect(stampOf(stale)).not.toBe(stampOf(good));
    await writeFile(entry, stale);
    const other = await runCli(['--version'], { env: envWith() });
    expect(other.exitCode).toBe(0);
    expect(other.stderr).toBe('');
    expect(stampOf(await readFile(entry))).toBe(stampOf(good));
  });

  it('goes under $HOME/.cache when $XDG_CACHE_HOME is unset or relative (invalid for XDG)', async () => {
    const home = path.join(work.dir, 'home');
    await mkdir(home);
    const run = await runCli(['--version'], { env: cleanEnv({ HOME: home, XDG_CACHE_HOME: 'relative/cache' }), cwd: work.dir });
    expect(run.exitCode).toBe(0);
    expect(await readdir(path.join(home, '.cache', 'loom-otel', 'compile-cache'))).toEqual(['cli.cjs.v8']);
    await expect(stat(path.join(work.dir, 'relative'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('changes nothing when the cache cannot be written, or is turned off', async () => {
    const blocked = path.join(work.dir, 'blocked');
    await writeFile(blocked, 'a file where the cache directory would go');
    const unwritable = await runCli(['init', '--yes', '--dir', path.join(work.dir, 'a')], { env: cleanEnv({ XDG_CACHE_HOME: blocked }) });
    expect(unwritable.exitCode).toBe(0);
    expect(unwritable.stderr).toBe('');
    expect(unwritable.stdout).toContain('Stack written to');

    if (process.getuid?.() !== 0) {
      // root writes through a read-only directory: only meaningful for other users
      await mkdir(cacheDir(), { recursive: true });
      await chmod(cacheDir(), 0o500);
      const readOnly = await runCli(['init', '--yes', '--dir', path.join(work.dir, 'b')], { env: envWith() });
      expect(readOnly.exitCode).toBe(0);
      expect(readOnly.stderr).toBe('');
      await chmod(cacheDir(), 0o700);
    }

    const offHome = path.join(work.dir, 'cache-off');
    const off = await runCli(['init', '--yes', '--dir', path.join(work.dir, 'c')], { env: cleanEnv({ XDG_CACHE_HOME: offHome, NODE_DISABLE_COMPILE_CACHE: '1' }) });
    expect(off.exitCode).toBe(0);
    await expect(stat(offHome)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
