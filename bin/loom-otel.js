#!/usr/bin/env node
// The published entry: the CLI is bundled into dist/ by `npm run build` (scripts/build.js, esbuild). CommonJS
// (bin/package.json): Node starts a CommonJS main without its ES module loader, which --help and init never need.
// The start-up bundles' compiled code is cached per user (src/compile-cache.ts).
const path = require('node:path');

require('../dist/compile-cache.cjs').enableCompileCache(path.join(__dirname, '..', 'dist'));
require('../dist/cli.cjs')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
