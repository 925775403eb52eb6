// Start-up cost of the CLI, as ratios to bare Node measured in the same run:
//   1. `loom-otel --help`                         target ratio <= 1.3
//   2. `loom-otel init --yes` into a fresh temp dir (renders and writes the whole stack)   target ratio <= 1.5
// Medians of interleaved runs, so load on the machine affects every command alike.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin/loom-otel.js');
const RUNS = 15;
const env = { ...process.env, NO_COLOR: '1', CI: 'true' };

function time(args, cwd) {
  const start = process.hrtime.bigint();
  execFileSync(process.execPath, args, { cwd, env, stdio: 'ignore' });
  return Number(process.hrtime.bigint() - start) / 1e6;
}
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

const samples = { node: [], help: [], init: [] };
const scratch = mkdtempSync(path.join(tmpdir(), 'loom-otel-bench-'));
try {
  time([bin, '--help']); // warm the file system cache once
  for (let i = 0; i < RUNS; i += 1) {
    samples.node.push(time(['-e', '0']));
    samples.help.push(time([bin, '--help']));
    samples.init.push(time([bin, 'init', '--yes', '--dir', path.join(scratch, `stack-${i}`)], scratch));
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const base = median(samples.node);
const row = (name, ms, target) => {
  const ratio = ms / base;
  const verdict = target === undefined ? '' : ratio <= target ? `  (target <= ${target}x: ok)` : `  (target <= ${target}x: MISSED)`;
  console.log(`${name.padEnd(28)} ${ms.toFixed(1).padStart(7)} ms  ${ratio.toFixed(2)}x node${verdict}`);
};
console.log(`median of ${RUNS} runs each`);
row('node -e 0 (baseline)', base);
row('loom-otel --help', median(samples.help), 1.3);
row('loom-otel init --yes', median(samples.init), 1.5);
