/**
 * `up --local` as a daily tool: `--detach` runs it in the background, `status` and `down` find it with
 * or without a stack manifest, a second `up --local` names the first, and a crashed background process
 * is reported as gone (its stale PID file removed). The built CLI, run the way a user runs it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN, cleanEnv, runCli, tempDir } from './helpers/cli.js';
import { cleanupAfterEach } from './helpers/cleanup.js';
import { RANDOM_PORT_FLAGS } from './local-harness.js';

/** `started`: PIDs of background processes a test started, killed if the test failed before stopping them. */
const { cleanups, started } = cleanupAfterEach();

/** Alive and not a zombie (an ended child nobody reaped yet still takes signal 0). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

async function waitUntilGone(pid: number, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/** A working directory and a per-user state directory of the test's own. */
async function place() {
  const { dir, cleanup } = await tempDir('loom-otel-lifecycle-');
  cleanups.push(cleanup);
  const stateHome = path.join(dir, 'state');
  const env = cleanEnv({ XDG_STATE_HOME: stateHome });
  const cli = (args: string[]) => runCli(args, { env, cwd: dir });
  return { dir, stateDir: path.join(stateHome, 'loom-otel'), env, cli };
}

async function detach(cli: (args: string[]) => ReturnType<typeof runCli>, extra: string[] = []) {
  const run = await cli(['--json', 'up', '--local', '--detach', ...RANDOM_PORT_FLAGS, ...extra]);
  expect(run.exitCode, run.stderr).toBe(0);
  const listening = JSON.parse(run.stdout.trim().split('\n')[0]!) as { pid: number; ports: Record<string, number>; logFile: string; pidFile: string; detached: boolean };
  started.add(listening.pid);
  return listening;
}

describe('up --local --detach without a stack manifest (per-user state directory)', () => {
  it('returns once it answers; status finds it; a second up --local names it; down stops it gracefully', async () => {
    const { stateDir, cli } = await place();
    const human = await cli(['up', '--local', '--detach', ...RANDOM_PORT_FLAGS]);
    expect(human.exitCode, human.stderr).toBe(0);
    const pid = Number(/Runs in the background \(PID (\d+)\)/.exec(human.stdout)?.[1]);
    started.add(pid);
    expect(human.stdout).toContain(`its output goes to ${path.join(stateDir, 'up-local.log')}`);
    expect(human.stdout).toContain('loom-otel down stops it');
    const pidFile = JSON.parse(await readFile(path.join(stateDir, 'up-local.pid'), 'utf8'));
    expect(pidFile).toMatchObject({ pid, detached: true, logFile: path.join(stateDir, 'up-local.log') });
    // It answered before the command returned.
    expect((await fetch(`http://127.0.0.1:${pidFile.ports.collectorHealth}/`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${pidFile.ports.jaegerUi}/api/services`)).status).toBe(200);

    const status = await cli(['--json', 'status']);
    expect(status.exitCode, status.stderr).toBe(0);
    const statusJson = JSON.parse(status.stdout);
    expect(statusJson).toMatchObject({ ok: true, servedBy: 'up --local', stack: null, engine: null, local: { pid, running: true, detached: true, ports: pidFile.ports } });
    expect(statusJson.parts.filter((p: { running: boolean }) => p.running).map((p: { part: string; healthy: boolean }) => [p.part, p.healthy])).toEqual([
      ['collector', true],
      ['jaeger', true],
    ]);
    const statusText = await cli(['status']);
    expect(statusText.stdout).toContain(`served by \`loom-otel up --local\`: PID ${pid}, in the background`);

    const second = await cli(['up', '--local', ...RANDOM_PORT_FLAGS]);
    expect(second.exitCode).toBe(1);
    expect(second.stderr).toContain(`loom-otel up --local already runs (PID ${pid}`);
    expect(second.stderr).toContain(`OTLP gRPC ${pidFile.ports.otlpGrpc}, OTLP HTTP ${pidFile.ports.otlpHttp}, viewer ${pidFile.ports.jaegerUi}`);
    expect(second.stderr).toContain('Stop it with `loom-otel down`');
    expect(alive(pid)).toBe(true);

    const down = await cli(['down']);
    expect(down.exitCode, down.stderr).toBe(0);
    expect(down.stdout).toContain(`Stopped loom-otel up --local (PID ${pid})`);
    expect(await waitUntilGone(pid)).toBe(true);
    expect(existsSync(path.join(stateDir, 'up-local.pid'))).toBe(false);
    // Graceful: it closed its ports and wrote its summary to the log.
    expect(await readFile(path.join(stateDir, 'up-local.log'), 'utf8')).toMatch(/Stopped after .*: 0 spans received/);

    const after = await cli(['status']);
    expect(after.exitCode).toBe(1);
    expect(after.stderr).toContain('no `loom-otel up --local` runs for this user');
    const downAgain = await cli(['down']);
    expect(downAgain.exitCode).toBe(1);
    expect(downAgain.stderr).toContain('nothing to stop');
  });

  it('a crash of the background process: status says it is gone and removes the stale PID file; down then has nothing to stop', async () => {
    const { stateDir, cli } = await place();
    const { pid, pidFile } = await detach(cli);
    expect(pidFile).toBe(path.join(stateDir, 'up-local.pid'));
    process.kill(pid, 'SIGKILL');
    expect(await waitUntilGone(pid)).toBe(true);
    expect(existsSync(pidFile)).toBe(true);

    const status = await cli(['status']);
    expect(status.exitCode).toBe(1);
    expect(status.stdout).toContain(`loom-otel up --local (PID ${pid}`);
    expect(status.stdout).toContain('is gone: it ended without stopping cleanly (crashed or killed)');
    expect(status.stdout).toContain(`Removed its stale PID file ${pidFile}`);
    expect(existsSync(pidFile)).toBe(false);

    // Once more, the same crash seen by --json, and by down.
    const again = await detach(cli);
    process.kill(again.pid, 'SIGKILL');
    expect(await waitUntilGone(again.pid)).toBe(true);
    const json = await cli(['--json', 'status']);
    expect(json.exitCode).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, servedBy: 'up --local', local: { pid: again.pid, running: false, stalePidFileRemoved: true } });
    expect(existsSync(pidFile)).toBe(false);
    const third = await detach(cli);
    process.kill(third.pid, 'SIGKILL');
    expect(await waitUntilGone(third.pid)).toBe(true);
    const down = await cli(['down']);
    expect(down.exitCode).toBe(0);
    expect(down.stdout).toContain(`Nothing to stop: loom-otel up --local (PID ${third.pid}`);
    expect(existsSync(pidFile)).toBe(false);
  });

  it('a background start that fails says why, with the end of its log, and leaves no PID file', async () => {
    const { stateDir, cli } = await place();
    const first = await detach(cli);
    // Another user state directory: the PID file cannot tell, the health port does.
    const { cli: elsewhere, stateDir: elsewhereState } = await place();
    const flags = RANDOM_PORT_FLAGS.map((value, i) => (RANDOM_PORT_FLAGS[i - 1] === '--health-port' ? String(first.ports.collectorHealth) : value));
    const run = await elsewhere(['up', '--local', '--detach', ...flags]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('The background up --local stopped before it answered (exit code 1)');
    expect(run.stderr).toContain(`port ${first.ports.collectorHealth} (health check) is already in use`);
    expect(run.stderr).toContain(`Another loom-otel up --local (PID ${first.pid}) holds the stack's ports`);
    expect(existsSync(path.join(elsewhereState, 'up-local.pid'))).toBe(false);
    expect(existsSync(path.join(stateDir, 'up-local.pid'))).toBe(true); // the first one's, untouched
    expect((await cli(['down'])).exitCode).toBe(0);
  });
});

describe('up --local with a stack manifest (PID file in the stack directory)', () => {
  it('status --json names the stack and the process; down --dir stops a foreground up --local as Ctrl-C would', async () => {
    const { dir, cli, env } = await place();
    const stackDir = path.join(dir, 'observability');
    expect((await cli(['init', '--yes', '--dir', stackDir])).exitCode).toBe(0);
    const child = execa('node', [BIN, 'up', '--local', '--json', '--dir', stackDir, ...RANDOM_PORT_FLAGS], { env, extendEnv: false, reject: false, cwd: dir });
    cleanups.push(async () => {
      child.kill('SIGKILL');
      await child;
    });
    const listening = await new Promise<{ pid: number; ports: Record<string, number> }>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString().split('\n')[0]!))));
    expect(listening.pid).toBe(child.pid);
    const pidFile = path.join(stackDir, 'up-local.pid');
    expect(JSON.parse(await readFile(pidFile, 'utf8'))).toMatchObject({ pid: child.pid, detached: false, stackDir });

    // From the directory above, ./observability is the default: no --dir needed.
    const status = await cli(['--json', 'status']);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ ok: true, servedBy: 'up --local', stack: { name: 'loom-observability', dir: stackDir }, local: { pid: child.pid, detached: false, ports: listening.ports } });

    const down = await cli(['--json', 'down', '--dir', stackDir]);
    expect(down.exitCode, down.stderr).toBe(0);
    expect(JSON.parse(down.stdout)).toMatchObject({ ok: true, servedBy: 'up --local', stopped: true, local: { pid: child.pid } });
    const result = await child;
    expect(result.exitCode).toBe(0);
    expect(String(result.stdout)).toContain('"event":"stopped"');
    expect(existsSync(pidFile)).toBe(false);
  });

  it('--detach with a manifest writes its PID and log files next to it', async () => {
    const { dir, cli } = await place();
    const stackDir = path.join(dir, 'custom');
    expect((await cli(['init', '--yes', '--dir', stackDir])).exitCode).toBe(0);
    const listening = await detach(cli, ['--dir', stackDir]);
    expect(listening.pidFile).toBe(path.join(stackDir, 'up-local.pid'));
    expect(listening.logFile).toBe(path.join(stackDir, 'up-local.log'));
    const second = await cli(['up', '--local', '--dir', stackDir, ...RANDOM_PORT_FLAGS]);
    expect(second.exitCode).toBe(1);
    expect(second.stderr).toContain(`Stop it with \`loom-otel down --dir ${stackDir}\``);
    const down = await cli(['down', '--dir', stackDir]);
    expect(down.exitCode, down.stderr).toBe(0);
    expect(await waitUntilGone(listening.pid)).toBe(true);
  });
});
