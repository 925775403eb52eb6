/**
 * The published package, as close to `npx loom-otel` from the registry as this machine allows: a copy of
 * the repository's sources is packed (its prepack builds dist/), the tarball is installed into an empty
 * directory with a cache of its own and --offline (so it must need nothing but itself), and the installed
 * CLI runs through npx: --help, init, up --local (and its viewer's pages and uPlot) and send-test-trace over
 * all three OTLP protocols, then up --local --detach and down.
 */
import { execa } from 'execa';
import { cp, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, ROOT, tempDir } from './helpers/cli.js';
import { RANDOM_PORT_FLAGS, startLocal } from './local-harness.js';

const SOURCES = ['package.json', 'package-lock.json', 'README.md', 'bin', 'src', 'scripts', 'data', 'templates', 'tsconfig.json'];

let work: { dir: string; cleanup: () => Promise<void> };
let project: string;
let cache: string;
let tarball: string;
let packed: { files: Array<{ path: string; size: number }>; unpackedSize: number };

/** Runs npm (or npx) in `cwd` with the test's own cache and no registry. */
function npm(tool: 'npm' | 'npx', args: string[], cwd: string) {
  return execa(tool, args, { cwd, reject: false, env: cleanEnv({ npm_config_cache: cache, npm_config_offline: 'true', npm_config_update_notifier: 'false' }), extendEnv: false, timeout: 120_000 });
}

beforeAll(async () => {
  work = await tempDir('loom-otel-package-');
  cache = path.join(work.dir, 'npm-cache');
  // A clean copy, as a fresh clone would have it: no dist/, no data/viewer/vendor/ (git-ignored; the build
  // copies uPlot there). Its build uses this repository's devDependencies.
  const clone = path.join(work.dir, 'clone');
  await mkdir(clone);
  const vendor = path.join(ROOT, 'data/viewer/vendor');
  for (const entry of SOURCES) await cp(path.join(ROOT, entry), path.join(clone, entry), { recursive: true, filter: (source) => source !== vendor });
  await symlink(path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules'));
  const pack = await npm('npm', ['pack', '--json', '--pack-destination', work.dir], clone);
  expect(pack.exitCode, pack.stderr).toBe(0);
  const [info] = JSON.parse(pack.stdout) as Array<typeof packed & { filename: string }>;
  packed = info!;
  tarball = path.join(work.dir, info!.filename);
  project = path.join(work.dir, 'project');
  await mkdir(project);
}, 180_000);

afterAll(async () => {
  await work?.cleanup();
});

describe('the packed tarball', () => {
  it('holds the bundle, data/ and templates/, and no source maps or sources', () => {
    const files = packed.files.map((file) => file.path);
    expect(files).toContain('bin/loom-otel.js');
    expect(files).toContain('bin/package.json'); // makes bin/loom-otel.js CommonJS
    expect(files).toContain('dist/cli.cjs');
    expect(files).toContain('dist/init.cjs');
    expect(files).toContain('dist/up.js');
    expect(files).toContain('dist/THIRD-PARTY-LICENSES.txt');
    expect(files).toContain('data/proto/opentelemetry/proto/trace/v1/trace.proto');
    expect(files).toContain('templates/stack/README.md');
    expect(files).toContain('data/viewer/metrics.js');
    expect(files).toContain('data/viewer/vendor/uPlot.iife.min.js');
    expect(files).toContain('data/viewer/vendor/uPlot.min.css');
    expect(files).toContain('data/viewer/vendor/uPlot.LICENSE');
    expect(files.filter((file) => file.endsWith('.map') || file.startsWith('src/') || file === 'dist/meta.json')).toEqual([]);
  });

  it('declares no dependencies and no install scripts', async () => {
    const manifest = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(manifest.optionalDependencies ?? {}).toEqual({});
    expect(manifest.peerDependencies ?? {}).toEqual({});
    const scripts = Object.keys(manifest.scripts ?? {});
    expect(scripts.filter((name) => ['preinstall', 'install', 'postinstall', 'prepare'].includes(name))).toEqual([]);
  });

  it('installs offline into an empty directory as one package under 5 MB', async () => {
    await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'empty-project', version: '1.0.0', private: true }));
    const install = await npm('npm', ['install', '--no-audit', '--no-fund', tarball], project);
    expect(install.exitCode, install.stderr).toBe(0);
    expect(install.stderr).not.toMatch(/install-scripts|postinstall/);
    const installed = (await readdir(path.join(project, 'node_modules'))).filter((name) => !name.startsWith('.'));
    expect(installed).toEqual(['loom-otel']);
    expect(packed.unpackedSize).toBeLessThan(5 * 1024 * 1024);
    expect((await stat(path.join(project, 'node_modules/loom-otel/dist/cli.cjs'))).isFile()).toBe(true);
  });

  it('runs through npx: --help, init --yes, up --local and send-test-trace over grpc, http/protobuf and http/json', { timeout: 180_000 }, async () => {
    const help = await npm('npx', ['loom-otel', '--help'], project);
    expect(help.exitCode, help.stderr).toBe(0);
    expect(help.stdout).toContain('Usage: loom-otel');
    expect(help.stdout).toContain('npx loom-otel init');

    const init = await npm('npx', ['loom-otel', 'init', '--yes'], project);
    expect(init.exitCode, init.stderr).toBe(0);
    expect(init.stdout).toContain('npx loom-otel up');
    const compose = await readFile(path.join(project, 'observability/docker-compose.yml'), 'utf8');
    expect(compose).toContain('otel-collector:');

    // up --local runs in the foreground until Ctrl-C. npx does not pass a signal on to the command it runs
    // (a terminal sends Ctrl-C to both), so it is started as npx starts it: the installed bin.
    const local = await startLocal([], { cwd: project, command: [path.join(project, 'node_modules/.bin/loom-otel')] });
    try {
      // The viewer's pages and the charting library come from the installed package.
      const page = await fetch(local.url('jaegerUi', '/metrics'));
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<script src="/static/vendor/uPlot.iife.min.js"></script>');
      const uplot = await fetch(local.url('jaegerUi', '/static/vendor/uPlot.iife.min.js'));
      expect(uplot.status).toBe(200);
      expect(uplot.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(await uplot.text()).toContain('uPlot');
      for (const [protocol, role] of [['grpc', 'otlpGrpc'], ['http/protobuf', 'otlpHttp'], ['http/json', 'otlpHttp']] as const) {
        const send = await npm('npx', ['loom-otel', 'send-test-trace', '--protocol', protocol, '--endpoint', local.url(role), '--jaeger-url', local.url('jaegerUi')], project);
        expect(send.exitCode, `${protocol}: ${send.stdout}\n${send.stderr}`).toBe(0);
        // send-test-trace knows the stack is up --local: its link goes to the viewer.
        expect(send.stdout).toMatch(new RegExp(`Viewer: +${local.url('jaegerUi')}/trace/[0-9a-f]{32}`));
      }
    } finally {
      const stopped = await local.stop('SIGINT');
      expect(stopped.stderr).not.toContain('Error');
      expect(stopped.events.find((event) => event.event === 'stopped')).toMatchObject({ tracesKept: 3 });
    }
  });

  it('runs up --local --detach through npx in the background, serving the viewer, until npx loom-otel down stops it', { timeout: 120_000 }, async () => {
    const up = await npm('npx', ['loom-otel', 'up', '--local', '--detach', ...RANDOM_PORT_FLAGS], project);
    const pid = Number(/Runs in the background \(PID (\d+)\)/.exec(up.stdout)?.[1]);
    let stopped = false;
    try {
      expect(up.exitCode, up.stderr).toBe(0);
      expect(up.stdout).toContain('npx loom-otel down stops it');
      const viewer = /Trace viewer\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(up.stdout)![1]!;
      const css = await fetch(`${viewer}/static/vendor/uPlot.min.css`);
      expect(css.status).toBe(200);
      expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
      const down = await npm('npx', ['loom-otel', 'down'], project);
      expect(down.exitCode, down.stderr).toBe(0);
      expect(down.stdout).toContain(`Stopped loom-otel up --local (PID ${pid})`);
      stopped = true;
    } finally {
      if (!stopped && pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already stopped
        }
      }
    }
  });
});
