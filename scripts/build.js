#!/usr/bin/env node
// Builds dist/ with esbuild, in two passes into the same directory:
//  1. Start-up, as CommonJS: dist/cli.cjs (the command tree, commander) and dist/init.cjs (init and all it
//     imports statically), each one self-contained file. Node starts a CommonJS main without its ES module
//     loader: `--help` and `init --yes` are ~6 ms faster than as ES modules, and init ~6 ms more as one
//     file than as the ~26 chunks it shared with other commands (each ES module costs a resolve, a read
//     and a link). bin/package.json makes bin/loom-otel.js CommonJS too. dist/compile-cache.cjs, loaded
//     first, keeps V8's compiled code of the two per user (src/compile-cache.ts).
//  2. Every other command, as ES modules split into chunks, so each loads only what it uses (the OTel
//     SDK, gRPC and protobufjs only for the commands that send). The catalogue imports them by stable
//     name (dist/up.js); the ES module loader starts then.
// Our own small modules exist in both passes (up shares init's rendering; the copies are identical), so
// errors cross them by a brand, not by class identity (src/errors.ts). Packages never ship twice (the
// build fails if one would): what pass 1 loads lazily (init's prompts, diff, and the CLI's error output,
// which shares the secrets send-test-trace registers) is one of pass 2's named entries (SHARED_ENTRIES).
// Everything the CLI needs at run time is inside, so the published package has no dependencies. No
// source maps: they would have to carry the sources of every bundled package. dist/meta.json (not
// published) says which sources each output holds (both passes); tests read it.
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
 * chunk for it (or a named entry made of it) exports only `default`. This plugin puts an ES module in
 * between that re-exports the names Node itself finds in the package, so the source can import such
 * packages lazily as usual.
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

/** The modules pass 2 emits under a stable name for pass 1, as `name -> source` (a path or a package). */
const SHARED_ENTRIES = { 'init-prompts': 'src/stack/prompts.ts', 'output-context': 'src/output/context.ts', diff: 'diff' };

/**
 * Pass 1: the catalogue's `import('./init.js')` becomes a require() of dist/init.cjs (an import() would
 * start the ES module loader), and its other commands stay imports of pass 2's entries (dist/up.js),
 * which it lists in `commands`. A dynamic import of a shared entry, or any import of a shared package,
 * becomes an import of that entry; a source module imported statically is bundled.
 */
function startUp(commands) {
  const catalogue = path.join(root, 'src/commands/catalogue.ts');
  let shared;
  return {
    name: 'start-up',
    setup(builder) {
      builder.onResolve({ filter: /^\.\/[a-z-]+\.js$/ }, (args) => {
        if (args.importer !== catalogue) return undefined;
        if (args.path === './init.js') return { path: 'init', namespace: 'require-init' };
        commands.add(path.basename(args.path, '.js'));
        return { path: args.path, external: true };
      });
      builder.onLoad({ filter: /.*/, namespace: 'require-init' }, () => ({ contents: "module.exports = require('./init.cjs');", loader: 'js' }));
      builder.onResolve({ filter: /^\.\/init\.cjs$/ }, (args) => ({ path: args.path, external: true }));
      builder.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind === 'entry-point' || args.pluginData === PROBE || args.path.startsWith('node:')) return undefined;
        shared ??= new Map(
          await Promise.all(
            Object.entries(SHARED_ENTRIES).map(async ([name, source]) => [
              (await builder.resolve(source.startsWith('src/') ? `./${source}` : source, { kind: 'import-statement', resolveDir: root, pluginData: PROBE })).path,
              name,
            ]),
          ),
        );
        const resolved = await builder.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: PROBE });
        const name = shared.get(resolved.path);
        if (!name || (args.kind !== 'dynamic-import' && !resolved.path.includes(`${path.sep}node_modules${path.sep}`))) return undefined;
        return { path: `./${name}.js`, external: true };
      });
    },
  };
}

/** Pass 2: the catalogue (completion imports it) loads init from dist/init.cjs too. */
const initFromPass1 = {
  name: 'init-from-pass-1',
  setup(builder) {
    builder.onResolve({ filter: /^\.\/init\.js$/ }, (args) =>
      args.importer === path.join(root, 'src/commands/catalogue.ts') ? { path: './init.cjs', external: true } : undefined,
    );
  },
};

const common = {
  absWorkingDir: root,
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node20.19',
  legalComments: 'eof',
  // Names stay readable in the stack trace of an unexpected error.
  minifyWhitespace: true,
  minifySyntax: true,
  metafile: true,
  logLevel: 'warning',
};

const commands = new Set();
const pass1 = await build({
  ...common,
  entryPoints: { cli: 'src/cli.ts', init: 'src/commands/init.ts', 'compile-cache': 'src/compile-cache.ts' },
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  // src/package-files.ts finds data/ and templates/ from its own URL.
  define: { 'import.meta.url': '__loomModuleUrl' },
  banner: {
    js: "const __loomModuleUrl = require('node:url').pathToFileURL(__filename).href; const __loomImport = (specifier) => require('./compile-cache.cjs').importFromBundle(specifier);",
  },
  plugins: [startUp(commands), lazyChildProcessForCommander],
});

// Pass 1's bundles may come from V8's code cache (src/compile-cache.ts), where an import() finds no
// module loader on Node 20: each of their import()s of a pass 2 module goes through compile-cache.cjs.
// (compile-cache.cjs itself is loaded before the cache exists.)
for (const output of ['dist/cli.cjs', 'dist/init.cjs']) {
  const file = path.join(root, output);
  const routed = readFileSync(file, 'utf8').replace(/\bimport\((?="\.\/[\w-]+\.js"\))/g, '__loomImport(');
  if (/\bimport\(/.test(routed)) throw new Error(`scripts/build.js: ${output} has an import() of something other than a dist/ module.`);
  writeFileSync(file, routed);
}

const pass2 = await build({
  ...common,
  entryPoints: { ...Object.fromEntries([...commands].map((name) => [name, `src/commands/${name}.ts`])), ...SHARED_ENTRIES },
  splitting: true,
  format: 'esm',
  chunkNames: '[name]-[hash]',
  // Bundled CommonJS packages (grpc-js, protobufjs) call require() for Node's own modules.
  banner: { js: "import { createRequire as __loomCreateRequire } from 'node:module'; const require = __loomCreateRequire(import.meta.url);" },
  plugins: [initFromPass1, commonJsDynamicImports],
});

const packageOf = (input) => /^(.*\/node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(path.resolve(root, input.replace(/^[a-z-]+:/, '')))?.[1];
const twice = [...new Set(Object.keys(pass2.metafile.inputs).map(packageOf).filter((dir) => dir && Object.keys(pass1.metafile.inputs).some((input) => packageOf(input) === dir)))];
if (twice.length > 0) throw new Error(`scripts/build.js: dist/ would ship ${twice.join(', ')} twice: add it to SHARED_ENTRIES.`);

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
