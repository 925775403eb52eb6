#!/usr/bin/env node
// The published entry: the CLI is bundled into dist/ by `npm run build` (scripts/build.js, esbuild).
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv);
