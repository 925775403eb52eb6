import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { runCli, tempDir } from './helpers/cli.js';
import { initStack, installStandIn, runCliInTerminal } from './helpers/stand-in-docker.js';
import { requireTool } from './helpers/validators.js';

let root: { dir: string; cleanup: () => Promise<void> };
let stackDir: string;

beforeEach(async () => {
  root = await tempDir('loom-otel-down-');
  stackDir = path.join(root.dir, 'observability');
  await initStack(stackDir);
});

afterEach(async () => {
  await root.cleanup();
});

const compose = (...args: string[]) => ['compose', '-f', path.join(stackDir, 'docker-compose.yml'), '--project-directory', stackDir, ...args];

describe('loom-otel down (stand-in docker)', () => {
  it('runs compose down and keeps the data (stand-in docker)', async () => {
    const docker = await installStandIn(root.dir, ['docker']);
    const run = await runCli(['down', '--dir', stackDir], { env: docker.env() });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(await docker.calls()).toContainEqual({ name: 'docker', args: compose('down') });
    expect(run.stdout).toContain('Stopped loom-observability');
    expect(run.stdout).toContain('Its data is kept (loom-observability_prometheus-data, loom-observability_grafana-data)');
  });

  it('--volumes without --yes outside a terminal refuses, exit 1, and stops nothing (stand-in docker)', async () => {
    const docker = await installStandIn(root.dir, ['docker']);
    const run = await runCli(['down', '--volumes', '--dir', stackDir], { env: docker.env() });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('--volumes deletes the stack');
    expect(run.stderr).toContain('loom-otel down --volumes --yes');
    expect(await docker.calls()).toEqual([]);
  });

  it('--volumes --yes also deletes the data volumes (stand-in docker)', async () => {
    const docker = await installStandIn(root.dir, ['docker']);
    const run = await runCli(['down', '--volumes', '--yes', '--json', '--dir', stackDir], { env: docker.env() });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(await docker.calls()).toContainEqual({ name: 'docker', args: compose('down', '--volumes') });
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, volumesRemoved: ['loom-observability_prometheus-data', 'loom-observability_grafana-data'] });
  });

  it('when the engine is not running, says how to start it (stand-in docker)', async () => {
    const docker = await installStandIn(root.dir, ['docker']);
    const run = await runCli(['down', '--dir', stackDir], { env: docker.env({ STANDIN_DAEMON: 'down' }) });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('The Docker engine is not running');
    expect((await docker.calls()).some((c) => c.args.includes('down'))).toBe(false);
  });
});

describe('loom-otel down --volumes on a terminal (stand-in docker)', () => {
  it('asks first: "n" leaves the stack and its data alone, "y" deletes the volumes (stand-in docker)', async () => {
    if (!requireTool('script', 'util-linux: apt install bsdutils')) return;
    const docker = await installStandIn(root.dir, ['docker']);
    const declined = await runCliInTerminal(['down', '--volumes', '--dir', stackDir], docker.env(), 'n\r');
    expect(declined.output).toContain('delete its data volumes (loom-observability_prometheus-data');
    expect(declined.exitCode).toBe(1);
    expect(declined.output).toContain('Not confirmed: the stack and its data were left as they were.');
    expect((await docker.calls()).some((c) => c.args.includes('down'))).toBe(false);

    const confirmed = await runCliInTerminal(['down', '--volumes', '--dir', stackDir], docker.env(), 'y\r');
    expect(confirmed.exitCode, confirmed.output).toBe(0);
    expect(await docker.calls()).toContainEqual({ name: 'docker', args: compose('down', '--volumes') });
  });
});
