// What `npx loom-otel` costs a new user before the first line prints, measured in one run:
//   1. packages installed by `npm install <tarball>` into an empty directory     target 1
//   2. installed size                                                              target < 5 MB
//   3. time of that install, with an empty npm cache, against the same install of the unbundled
//      package (dist/ compiled file by file with tsc, the libraries src/ imports as dependencies,
//      fetched from the registry as npx would)                                     ratio, lower is better
// Needs the npm registry for the unbundled install; without it that row says so.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const scratch = mkdtempSync(path.join(tmpdir(), 'loom-otel-bench-package-'));
const quiet = { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' };

/** The packages src/ imports at run time (bare specifiers), at the versions package.json pins. */
function importedLibraries() {
  const names = new Set();
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (file.endsWith('.ts')) {
        for (const [, specifier] of readFileSync(file, 'utf8').matchAll(/(?:^import (?!type )[^;]*? from |import\()'([^'.][^']*)'/gm)) {
          if (specifier.startsWith('node:')) continue;
          names.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]);
        }
      }
    }
  };
  walk(path.join(root, 'src'));
  return Object.fromEntries([...names].sort().map((name) => [name, manifest.devDependencies[name]]));
}

/** The package as it was published before the bundle: tsc's dist/ plus dependencies. */
function packUnbundled() {
  const dir = path.join(scratch, 'unbundled');
  mkdirSync(dir);
  for (const entry of ['data', 'templates', 'src', 'tsconfig.json']) cpSync(path.join(root, entry), path.join(dir, entry), { recursive: true });
  // Its executable as it was then: an ES module importing tsc's dist/cli.js (ours is CommonJS, for dist/cli.cjs).
  mkdirSync(path.join(dir, 'bin'));
  writeFileSync(path.join(dir, 'bin/loom-otel.js'), "#!/usr/bin/env node\nimport { main } from '../dist/cli.js';\n\nprocess.exitCode = await main(process.argv);\n");
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  const { devDependencies, scripts, ...rest } = manifest;
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ ...rest, files: ['bin', 'dist', 'data', 'templates'], dependencies: importedLibraries() }, null, 2));
  execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--sourceMap', 'false'], { cwd: dir, ...quiet });
  return pack(dir);
}

function pack(dir) {
  const [info] = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], { cwd: dir, ...quiet }));
  const tarball = path.join(scratch, `${path.basename(dir)}-${info.filename}`);
  cpSync(path.join(scratch, info.filename), tarball);
  rmSync(path.join(scratch, info.filename));
  return tarball;
}

/** `npm install <tarball>` into an empty project with an empty cache of its own; ms, packages, bytes. */
function install(tarball, name) {
  const project = path.join(scratch, `project-${name}`);
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: `bench-${name}`, version: '1.0.0', private: true }));
  const started = performance.now();
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--cache', path.join(scratch, `cache-${name}`), tarball], { cwd: project, ...quiet });
  const ms = performance.now() - started;
  const modules = path.join(project, 'node_modules');
  const lock = JSON.parse(readFileSync(path.join(modules, '.package-lock.json'), 'utf8'));
  return { ms, packages: Object.keys(lock.packages).length, bytes: du(modules) };
}

function du(dir) {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) bytes += du(file);
    else if (entry.isFile()) bytes += statSync(file).size;
  }
  return bytes;
}

const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;
try {
  const bundled = install(pack(root), 'bundled');
  console.log(`packages installed    ${String(bundled.packages).padStart(8)}      (target 1: ${bundled.packages === 1 ? 'ok' : 'MISSED'})`);
  console.log(`installed size        ${mb(bundled.bytes).padStart(8)}   (target < 5 MB: ${bundled.bytes < 5 * 1024 * 1024 ? 'ok' : 'MISSED'})`);
  let unbundled;
  try {
    unbundled = install(packUnbundled(), 'unbundled');
  } catch (error) {
    console.log(`unbundled install failed (is the npm registry reachable?): ${String(error.stderr || error.stdout || error.message).trim()}`);
  }
  if (unbundled) {
    console.log(`unbundled package     ${String(unbundled.packages).padStart(8)} packages, ${mb(unbundled.bytes)}`);
    console.log(`npm install, cold cache: bundled ${bundled.ms.toFixed(0)} ms, unbundled ${unbundled.ms.toFixed(0)} ms: ratio ${(bundled.ms / unbundled.ms).toFixed(2)}`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
