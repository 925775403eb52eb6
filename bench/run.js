#!/usr/bin/env node
// Runs every benchmark in bench/*.bench.js (or those named on the command line) one after another.
// Each prints its own figures as ratios against a baseline measured in the same run.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

const dir = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const benches = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();
if (benches.length === 0) {
  console.error(`No benchmark matches ${wanted.join(', ')}. Available: ${readdirSync(dir).filter((f) => f.endsWith('.bench.js')).join(', ')}`);
  process.exit(2);
}
for (const file of benches) {
  console.log(`\n=== ${file}`);
  execFileSync(process.execPath, [path.join(dir, file)], { stdio: 'inherit' });
}
