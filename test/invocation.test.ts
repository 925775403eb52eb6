import { execFileSync } from 'node:child_process';
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandsAsInvoked, invokedAs } from '../src/output/invocation.js';
import { cleanEnv, runCli, runCliAsNpx, tempDir, type CliRun } from './helpers/cli.js';
import { cleanupAfterEach } from './helpers/cleanup.js';
import { initStack } from './helpers/stand-in-docker.js';
import { RANDOM_PORT_FLAGS } from './local-harness.js';
import { exportLines, userShell } from '../src/stack/agent-env.js';

describe('the command form hints print', () => {
  it('is `npx loom-otel` when npx ran the bin from a node_modules folder', () => {
    expect(invokedAs({ npm_command: 'exec' }, '/home/me/.npm/_npx/07f6ce45/node_modules/.bin/loom-otel')).toBe('npx loom-otel');
    expect(invokedAs({ npm_command: 'exec' }, 'C:\\Users\\me\\proj\\node_modules\\loom-otel\\bin\\loom-otel.js')).toBe('npx loom-otel');
  });

  it('is `loom-otel` for a global install, an npm script, or a clone', () => {
    expect(invokedAs({}, '/usr/local/bin/loom-otel')).toBe('loom-otel');
    expect(invokedAs({ npm_command: 'run-script' }, '/proj/node_modules/.bin/loom-otel')).toBe('loom-otel');
    // A global loom-otel started from a shell that `npx -c` opened.
    expect(invokedAs({ npm_command: 'exec' }, '/usr/local/bin/loom-otel')).toBe('loom-otel');
  });
});

describe('quoted commands in messages', () => {
  it('read as the user ran loom-otel; prose, file names and other commands stay', () => {
    const text = 'Run `loom-otel init --dir x`, then `loom-otel up`; loom-otel.json, `loom-otel.json`, served by loom-otel up --local, `npx loom-otel down`.';
    expect(commandsAsInvoked(text, 'loom-otel')).toBe(text);
    expect(commandsAsInvoked(text, 'npx loom-otel')).toBe(
      'Run `npx loom-otel init --dir x`, then `npx loom-otel up`; loom-otel.json, `loom-otel.json`, served by loom-otel up --local, `npx loom-otel down`.',
    );
  });
});

describe('hints of the built CLI run as npx runs it', () => {
  const { cleanups, started } = cleanupAfterEach();

  async function place() {
    const temp = await tempDir('loom-otel-npx-hints-');
    cleanups.push(temp.cleanup);
    return { dir: temp.dir, env: cleanEnv({ XDG_STATE_HOME: path.join(temp.dir, 'state') }) };
  }

  /** Everything the user saw, with no command left in the plain form. */
  function seen(run: CliRun): string {
    const text = `${run.stdout}\n${run.stderr}`;
    expect(text).not.toMatch(/`loom-otel /);
    return text;
  }

  it('status and down without a stack name the npx form in their fixes (and the plain form without npx)', async () => {
    const { dir, env } = await place();
    const status = await runCliAsNpx(['status', '--dir', path.join(dir, 'none')], { env, cwd: dir });
    expect(status.exitCode).toBe(1);
    expect(seen(status)).toContain('Fix: Run `npx loom-otel up --local` (no Docker), or `npx loom-otel init` and `npx loom-otel up`; or point --dir at the stack directory.');
    const down = await runCliAsNpx(['down', '--dir', path.join(dir, 'none')], { env, cwd: dir });
    expect(down.exitCode).toBe(1);
    expect(seen(down)).toContain('Fix: Point --dir at the stack directory that `npx loom-otel up` (or `up --local`) started.');

    const plain = await runCli(['status', '--dir', path.join(dir, 'none')], { env, cwd: dir });
    expect(plain.stderr).toContain('Fix: Run `loom-otel up --local` (no Docker), or `loom-otel init` and `loom-otel up`;');
  });

  it("init's Fix lines and doctor's check fixes name the npx form", async () => {
    const { dir, env } = await place();
    const stack = path.join(dir, 'observability');
    const ports = await initStack(stack);
    await appendFile(path.join(stack, 'prometheus.yml'), '# my edit\n');

    const again = await runCliAsNpx(['init', '--yes', '--dir', stack], { env, cwd: dir });
    expect(again.exitCode).toBe(1);
    expect(seen(again)).toContain(`Fix: see the differences with \`npx loom-otel init --check --dir ${stack}\`; re-run with --force to overwrite edited files.`);

    const check = await runCliAsNpx(['init', '--check', '--dir', stack], { env, cwd: dir });
    expect(check.exitCode).toBe(1);
    expect(seen(check)).toContain(`Fix: run \`npx loom-otel init --dir ${stack}\` to regenerate`);

    // Nothing listens on the stack's ports: the OTLP check and the running check both say how to start it.
    const doctor = await runCliAsNpx(['doctor', '--dir', stack, '--timeout', '2', '--no-in-container'], { env, cwd: dir });
    const text = seen(doctor);
    expect(text).toContain(`Nothing is listening on 127.0.0.1:${ports.otlpGrpc} (connection refused).`);
    expect(text).toContain('Fix: Start the collector (`npx loom-otel up`, or `npx loom-otel up --local`)');
    expect(text).toContain(`start it with \`npx loom-otel up --dir ${stack}\``);
    const json = await runCliAsNpx(['doctor', '--json', '--dir', stack, '--timeout', '2', '--no-in-container'], { env, cwd: dir });
    expect(seen(json)).toContain('Start the collector (`npx loom-otel up`, or `npx loom-otel up --local`)');
  });

  it('a second up --local names the npx form of down and status', { timeout: 60_000 }, async () => {
    const { dir, env } = await place();
    const first = await runCliAsNpx(['up', '--local', '--detach', ...RANDOM_PORT_FLAGS], { env, cwd: dir });
    expect(first.exitCode, first.stderr).toBe(0);
    const pid = Number(/Runs in the background \(PID (\d+)\)/.exec(first.stdout)?.[1]);
    started.add(pid);
    expect(seen(first)).toContain('npx loom-otel status shows it; npx loom-otel down stops it.');

    const second = await runCliAsNpx(['up', '--local', ...RANDOM_PORT_FLAGS], { env, cwd: dir });
    expect(second.exitCode).toBe(1);
    expect(seen(second)).toContain('Stop it with `npx loom-otel down`');
    expect(second.stderr).toContain('or use it as it is: `npx loom-otel status` shows it.');

    const down = await runCliAsNpx(['down'], { env, cwd: dir });
    expect(down.exitCode, down.stderr).toBe(0);
    expect(seen(down)).toContain(`Stopped loom-otel up --local (PID ${pid})`);
    started.delete(pid);
  });
});

describe('export lines', () => {
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317', OTEL_SERVICE_NAME: 'my-agent' };

  it('are `export K=V` for POSIX shells and `$env:K = "V"` for PowerShell', () => {
    expect(exportLines(env)).toEqual(['export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317', 'export OTEL_SERVICE_NAME=my-agent']);
    expect(exportLines(env, 'powershell')).toEqual(['$env:OTEL_EXPORTER_OTLP_ENDPOINT = "http://127.0.0.1:4317"', '$env:OTEL_SERVICE_NAME = "my-agent"']);
    expect(exportLines({ DEPLOYMENT_ENV: 'a"$b' }, 'powershell')).toEqual([`$env:DEPLOYMENT_ENV = 'a"$b'`]);
  });

  it('single-quote a value with anything a shell reads, so the variable gets exactly that value', () => {
    const value = `it's $(rm -rf ~) "prod"; \`x\``;
    const [posix] = exportLines({ DEPLOYMENT_ENV: value });
    expect(posix).toBe(`export DEPLOYMENT_ENV='it'\\''s $(rm -rf ~) "prod"; \`x\`'`);
    expect(execFileSync('sh', ['-c', `${posix}; printf %s "$DEPLOYMENT_ENV"`], { encoding: 'utf8' })).toBe(value);
    expect(exportLines({ DEPLOYMENT_ENV: value }, 'powershell')).toEqual([`$env:DEPLOYMENT_ENV = 'it''s $(rm -rf ~) "prod"; \`x\`'`]);
    expect(exportLines({ DEPLOYMENT_ENV: 'a\u2019b' }, 'powershell')).toEqual(["$env:DEPLOYMENT_ENV = 'a\u2019\u2019b'"]);
    expect(exportLines({ DEPLOYMENT_ENV: '' })).toEqual(["export DEPLOYMENT_ENV=''"]);
    expect(exportLines({ DEPLOYMENT_ENV: 'staging-2.eu:a/b@c%d+e=f,g' })).toEqual(['export DEPLOYMENT_ENV=staging-2.eu:a/b@c%d+e=f,g']);
  });

  it('follow the shell: PowerShell on Windows or where PSModulePath marks it, POSIX where SHELL is set', () => {
    expect(userShell({ SHELL: '/bin/bash' }, 'linux')).toBe('posix');
    expect(userShell({}, 'win32')).toBe('powershell');
    expect(userShell({ SHELL: '/usr/bin/bash' }, 'win32')).toBe('posix'); // Git Bash
    expect(userShell({ PSModulePath: '/opt/microsoft/powershell/7/Modules' }, 'linux')).toBe('powershell');
  });
});
