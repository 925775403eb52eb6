#!/usr/bin/env node
// Builds dist/ as one bundle with esbuild: the entry dist/cli.js holds the command tree (commander) and
// nothing else; every command, and what it imports (OTel SDK, gRPC, protobufjs, the local stack), sits in
// chunks that load only when that command runs. Everything the CLI needs at run time is inside, so the
// published package has no dependencies. No source maps: they would have to carry the sources of every
// bundled package. dist/meta.json (not published) says which sources each chunk holds; tests read it.
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist');
rmSync(outdir, { recursive: true, force: true });

/** Node's rule: .cjs, or .js under a package.json without "type": "module". */
function isCommonJs(file) {
  if (file.endsWith('.cjs')) return true;
  if (!file.endsWith('.js')) return false;
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    try {
      return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).type !== 'module';
    } catch {
      // no package.json here: look one level up
    }
  }
  return true;
}

/**
 * `await import('yaml')` of a CommonJS package gives named exports under Node, but esbuild's split-off
 * chunk for it exports only `default`. This plugin puts an ES module in between that re-exports the
 * names Node itself finds in the package, so the source can import such packages lazily as usual.
 */
const commonJsDynamicImports = {
  name: 'commonjs-dynamic-imports',
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.kind !== 'dynamic-import' || args.path.startsWith('node:')) return undefined;
      const resolved = await builder.resolve(args.path, { kind: 'import-statement', resolveDir: args.resolveDir });
      if (resolved.errors.length > 0 || !isCommonJs(resolved.path)) return undefined;
      return { path: resolved.path, namespace: 'commonjs-interop' };
    });
    builder.onLoad({ filter: /.*/, namespace: 'commonjs-interop' }, async (args) => {
      const names = Object.keys(await import(pathToFileURL(args.path).href)).filter((name) => name !== 'default' && /^[A-Za-z_$][\w$]*$/.test(name));
      return {
        contents: `import * as namespace from ${JSON.stringify(args.path)};\nexport const { ${names.join(', ')} } = namespace;\nexport default namespace.default;\n`,
        resolveDir: path.dirname(args.path),
      };
    });
  },
};

/**
 * commander requires node:child_process when it loads, for executable subcommands (loom-otel has none).
 * Compiling that built-in, and node:net and node:dgram under it, is most of what `--help` costs beyond
 * bare node; commander gets it on first use instead.
 */
const lazyChildProcessForCommander = {
  name: 'lazy-child-process-for-commander',
  setup(builder) {
    builder.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes(`${path.sep}node_modules${path.sep}commander${path.sep}`) ? { path: 'child_process', namespace: 'lazy-builtin' } : undefined,
    );
    builder.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, () => ({
      contents: "let loaded;\nmodule.exports = new Proxy({}, { get: (_, key) => (loaded ??= require('node:child_process'))[key] });\n",
      loader: 'js',
    }));
  },
};

const result = await build({
  absWorkingDir: root,
  entryPoints: ['src/cli.ts'],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  // Bundled CommonJS packages (grpc-js, protobufjs) call require() for Node's own modules.
  banner: { js: "import { createRequire as __loomCreateRequire } from 'node:module'; const require = __loomCreateRequire(import.meta.url);" },
  chunkNames: '[name]-[hash]',
  legalComments: 'eof',
  // Names stay readable in the stack trace of an unexpected error.
  minifyWhitespace: true,
  minifySyntax: true,
  plugins: [commonJsDynamicImports, lazyChildProcessForCommander],
  metafile: true,
  logLevel: 'warning',
});
writeFileSync(path.join(outdir, 'meta.json'), JSON.stringify(result.metafile));

// The licences of the bundled packages travel with their code.
const packages = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const file = path.resolve(root, input.replace(/^[a-z-]+:/, ''));
  const match = /^(.*\/node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(file);
  if (match) packages.add(match[1]);
}
const notices = [...packages].sort().map((dir) => {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const licenceFile = readdirSync(dir).find((name) => /^(licen[cs]e|copying)/i.test(name));
  const text = licenceFile ? readFileSync(path.join(dir, licenceFile), 'utf8').trim() : `License: ${manifest.license}`;
  return `${manifest.name}@${manifest.version} (${manifest.license})\n\n${text}\n`;
});
writeFileSync(path.join(outdir, 'THIRD-PARTY-LICENSES.txt'), `Packages bundled into dist/ and their licences.\n\n${notices.join('\n' + '-'.repeat(72) + '\n\n')}`);

await import('./copy-viewer-vendor.mjs');
