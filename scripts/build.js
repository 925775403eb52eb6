#!/usr/bin/env node
// Builds dist/ as one bundle with esbuild, in two passes into the same directory:
//  1. The entry dist/cli.js holds the command tree (commander) and nothing else; every command but init,
//     and what it imports (OTel SDK, gRPC, protobufjs, the local stack), sits in chunks that load only
//     when that command runs.
//  2. dist/init.js holds init and all it imports statically, in one file. With pass 1's splitting, init's
//     code was ~26 small chunks shared with other commands, and each ES module costs a resolve, a read
//     and a link: one file makes `init --yes` ~6 ms faster. Duplicated code is our own small modules only
//     (up shares init's rendering; the two copies are identical): what init loads lazily from packages
//     (the prompts, diff) and yaml is imported from pass 1's named entries, so no package ships twice
//     (the build fails if one would). Errors cross the two copies by a brand, not by class identity (src/errors.ts).
// Everything the CLI needs at run time is inside, so the published package has no dependencies. No source
// maps: they would have to carry the sources of every bundled package. dist/meta.json (not published)
// says which sources each output holds (both passes); tests read it.
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

/** Marks the resolutions the plugins below ask esbuild for, so that they do not answer them themselves. */
const PROBE = 'probe';

/**
 * `await import('yaml')` of a CommonJS package gives named exports under Node, but esbuild's split-off
 * chunk for it (or a named entry made of it) exports only `default`. This plugin puts an ES module in between that re-exports the
 * names Node itself finds in the package, so the source can import such packages lazily as usual.
 */
const commonJsDynamicImports = {
  name: 'commonjs-dynamic-imports',
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, async (args) => {
      if ((args.kind !== 'dynamic-import' && args.kind !== 'entry-point') || args.pluginData === PROBE || args.path.startsWith('node:')) return undefined;
      const resolved = await builder.resolve(args.path, { kind: 'import-statement', resolveDir: args.resolveDir, pluginData: PROBE });
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

/** The command modules pass 2 builds: pass 1 leaves the catalogue's `import('./init.js')` as it is. */
const builtByPass2 = {
  name: 'built-by-pass-2',
  setup(builder) {
    builder.onResolve({ filter: /^\.\/init\.js$/ }, (args) =>
      args.importer === path.join(root, 'src/commands/catalogue.ts') ? { path: './init.js', external: true } : undefined,
    );
  },
};

/**
 * Pass 2: an import of a module that pass 1 emitted as a named entry becomes an import of that file
 * (`./diff.js`), so it is loaded from there, not copied. `entries` maps source paths to those files.
 */
function fromPass1(entries) {
  return {
    name: 'from-pass-1',
    setup(builder) {
      builder.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind === 'entry-point' || args.pluginData === PROBE || args.path.startsWith('node:')) return undefined;
        const resolved = await builder.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: PROBE });
        const file = entries.get(resolved.path);
        return file ? { path: `./${file}`, external: true } : undefined;
      });
    },
  };
}

const common = {
  absWorkingDir: root,
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  // Bundled CommonJS packages (grpc-js, protobufjs) call require() for Node's own modules.
  banner: { js: "import { createRequire as __loomCreateRequire } from 'node:module'; const require = __loomCreateRequire(import.meta.url);" },
  legalComments: 'eof',
  // Names stay readable in the stack trace of an unexpected error.
  minifyWhitespace: true,
  minifySyntax: true,
  metafile: true,
  logLevel: 'warning',
};

// Pass 1: the CLI, and under stable names what init shares with it (init's prompts, and the packages
// init loads that other commands load too).
const sharedWithInit = { 'init-prompts': 'src/stack/prompts.ts', diff: 'diff', yaml: 'yaml' };
const pass1 = await build({
  ...common,
  entryPoints: { cli: 'src/cli.ts', ...sharedWithInit },
  chunkNames: '[name]-[hash]',
  plugins: [builtByPass2, commonJsDynamicImports, lazyChildProcessForCommander],
});
const pass1Entries = new Map();
for (const [output, { entryPoint }] of Object.entries(pass1.metafile.outputs)) {
  // Dynamic imports are entry points too: only the named ones are stable.
  if (entryPoint && path.basename(output, '.js') in sharedWithInit) pass1Entries.set(path.resolve(root, entryPoint.replace(/^[a-z-]+:/, '')), path.basename(output));
}

// Pass 2: init in one file.
const pass2 = await build({
  ...common,
  entryPoints: { init: 'src/commands/init.ts' },
  chunkNames: 'init-[name]-[hash]',
  plugins: [fromPass1(pass1Entries), commonJsDynamicImports],
});

const packageOf = (input) => /^(.*\/node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(path.resolve(root, input.replace(/^[a-z-]+:/, '')))?.[1];
const twice = [...new Set(Object.keys(pass2.metafile.inputs).map(packageOf).filter((dir) => dir && Object.keys(pass1.metafile.inputs).some((input) => packageOf(input) === dir)))];
if (twice.length > 0) throw new Error(`scripts/build.js: init's bundle would ship a second copy of ${twice.join(', ')}: emit it as a named entry of pass 1.`);

const metafile = { inputs: { ...pass1.metafile.inputs, ...pass2.metafile.inputs }, outputs: { ...pass1.metafile.outputs, ...pass2.metafile.outputs } };
writeFileSync(path.join(outdir, 'meta.json'), JSON.stringify(metafile));

// The licences of the bundled packages travel with their code.
const packages = new Set(Object.keys(metafile.inputs).map(packageOf).filter(Boolean));
const notices = [...packages].sort().map((dir) => {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const licenceFile = readdirSync(dir).find((name) => /^(licen[cs]e|copying)/i.test(name));
  const text = licenceFile ? readFileSync(path.join(dir, licenceFile), 'utf8').trim() : `License: ${manifest.license}`;
  return `${manifest.name}@${manifest.version} (${manifest.license})\n\n${text}\n`;
});
writeFileSync(path.join(outdir, 'THIRD-PARTY-LICENSES.txt'), `Packages bundled into dist/ and their licences.\n\n${notices.join('\n' + '-'.repeat(72) + '\n\n')}`);

await import('./copy-viewer-vendor.mjs');
