#!/usr/bin/env node
// The published entry: the CLI is bundled into dist/ by `npm run build` (scripts/build.js, esbuild). CommonJS
// (bin/package.json): Node starts a CommonJS main without its ES module loader, which --help and init never need.
require('../dist/cli.cjs')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
