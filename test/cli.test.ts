import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, runCli } from './helpers/cli.js';

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('loom-otel shell', () => {
  it('--help lists every command and the exit codes', async () => {
    const run = await runCli(['--help']);
    expect(run.exitCode).toBe(0);
    for (const command of ['init', 'up', 'down', 'status', 'doctor', 'send-test-trace']) {
      expect(run.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
    expect(run.stdout).toContain('2 bad usage');
  });

  it('--version prints the package version', async () => {
    const run = await runCli(['--version']);
    expect(run.exitCode).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
  });

  it('an unknown command exits 2 and points at --help', async () => {
    const run = await runCli(['frobnicate']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("unknown command 'frobnicate'");
    expect(run.stderr).toContain('--help');
  });

  it('an unknown flag exits 2', async () => {
    const run = await runCli(['init', '--no-such-flag']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('--no-such-flag');
  });
});
