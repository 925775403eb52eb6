// Copies the viewer's charting library (uPlot, MIT licence) from node_modules into data/viewer/vendor/,
// where `up --local` serves it as a static file: no CDN, works offline, no runtime dependency.
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const uplot = path.dirname(createRequire(import.meta.url).resolve('uplot/package.json'));
const vendor = path.join(root, 'data/viewer/vendor');
mkdirSync(vendor, { recursive: true });
for (const [from, to] of [
  ['dist/uPlot.iife.min.js', 'uPlot.iife.min.js'],
  ['dist/uPlot.min.css', 'uPlot.min.css'],
  ['LICENSE', 'uPlot.LICENSE'],
]) {
  copyFileSync(path.join(uplot, from), path.join(vendor, to));
}
