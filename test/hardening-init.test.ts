/**
 * Hostile and broken input against `init` and the stack manifest (issue 9): a crafted loom-otel.json,
 * mistyped manifest fields, Ctrl-C in the middle of the writes, directories that refuse mkdir, and
 * symbolic links inside the stack. The built CLI runs as a user runs it; each test checks what the user
 * sees (message, exit code) and that nothing of theirs was touched.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { BIN, cleanEnv, runCli, tempDir } from './helpers/cli.js';

let work: { dir: string; cleanup: () => Promise<void> };
let stack: string;
beforeEach(async () => {
  work = await tempDir('loom-otel-harden-init-');
  stack = path.join(work.dir, 'observability');
});
afterEach(async () => {
  await work.cleanup();
});

const init = (...args: string[]) => runCli(['init', '--yes', '--dir', stack, ...args]);
const manifestPath = () => path.join(stack, 'loom-otel.json');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const password = (env: string) => /^GF_SECURITY_ADMIN_PASSWORD=(.+)$/m.exec(env)?.[1];

/** Every entry under dir (relative path -> content, '<dir>' or '-> link target'), hidden files included. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    const info = await lstat(full);
    out[path.relative(dir, full)] = info.isSymbolicLink()
      ? '-> link'
      : info.isDirectory()
        ? '<dir>'
        : `${(info.mode & 0o777).toString(8)} ${await readFile(full, 'utf8')}`;
  }
  return out;
}

async function editManifest(change: (manifest: Record<string, any>) => void): Promise<void> {
  const manifest = JSON.parse(await readFile(manifestPath(), 'utf8'));
  change(manifest);
  await writeFile(manifestPath(), JSON.stringify(manifest, null, 2));
}

describe('a crafted loom-otel.json cannot reach outside the stack directory', () => {
  const outsidePaths: [string, (workDir: string) => string][] = [
    ['a parent path', () => '../precious.txt'],
    ['a path that climbs out through a folder', () => 'grafana/../../precious.txt'],
    ['an absolute path', (workDir) => path.join(workDir, 'precious.txt')],
  ];
  for (const [what, entry] of outsidePaths) {
    it(`${what} in "files" is refused by name (exit 2); the file outside survives and nothing is written`, async () => {
      expect((await init()).exitCode).toBe(0);
      const precious = path.join(work.dir, 'precious.txt');
      await writeFile(precious, 'my precious data\n');
      const key = entry(work.dir);
      // Leaving Grafana out makes init remove files it no longer generates: the crafted entry would be one.
      await editManifest((m) => (m.files[key] = sha256('my precious data\n')));
      const before = await snapshot(stack);
      const run = await init('--no-grafana');
      expect(run.exitCode).toBe(2);
      expect(run.stderr).toContain('loom-otel.json is not a valid stack manifest');
      expect(run.stderr).toContain(`files[${JSON.stringify(key)}]: expected a path inside the stack directory`);
      expect(run.stderr).toContain('Fix:');
      expect(await readFile(precious, 'utf8')).toBe('my precious data\n');
      expect(await snapshot(stack)).toEqual(before);
    });
  }

  it('--force starts a stack over without trusting the crafted manifest: nothing outside is removed', async () => {
    expect((await init()).exitCode).toBe(0);
    const precious = path.join(work.dir, 'precious.txt');
    await writeFile(precious, 'keep me\n');
    await editManifest((m) => (m.files['../precious.txt'] = sha256('keep me\n')));
    const run = await init('--no-grafana', '--force');
    expect(run.exitCode, run.stderr).toBe(0);
    expect(await readFile(precious, 'utf8')).toBe('keep me\n');
    expect(JSON.parse(await readFile(manifestPath(), 'utf8')).files).not.toHaveProperty('../precious.txt');
  });
});

describe('manifest fields are type-checked by one schema: every reader names the field, nothing is written', () => {
  const broken: [string, (m: Record<string, any>) => void, string][] = [
    ['"expose" as a string', (m) => (m.options.expose = 'false'), 'options.expose: expected true or false, got the string "false"'],
    ['"ports" null', (m) => (m.options.ports = null), 'options.ports: expected an object, got null'],
    ['"parts" null', (m) => (m.options.parts = null), 'options.parts: expected an object, got null'],
    ['a port as a string', (m) => (m.options.ports.otlpGrpc = '4317'), 'options.ports.otlpGrpc: expected a whole number from 1 to 65535, got the string "4317"'],
    ['a port out of range', (m) => (m.options.ports.grafana = 70000), 'options.ports.grafana: a port must be a whole number from 1 to 65535'],
    ['a part as a number', (m) => (m.options.parts.jaeger = 1), 'options.parts.jaeger: expected true or false, got the number 1'],
    ['a missing field', (m) => delete m.options.samplingPercent, 'options.samplingPercent: missing (expected a number from 0 to 100)'],
    ['a misspelt field', (m) => (m.options.expsoe = true), 'options.expsoe: not a known field'],
    ['a name Compose rejects', (m) => (m.options.name = 'Bad Name'), 'options.name: "Bad Name" is not a valid Compose project name'],
    ['"files" as a list', (m) => (m.files = ['docker-compose.yml']), 'files: expected an object, got a list'],
    ['a digest that is not sha256', (m) => (m.files['.env'] = 'abc'), 'files[".env"]: expected a sha256 digest'],
    ['options as a string', (m) => (m.options = 'defaults'), 'options: expected an object, got the string "defaults"'],
  ];
  for (const [what, change, message] of broken) {
    it(`init: ${what}`, async () => {
      expect((await init()).exitCode).toBe(0);
      await editManifest(change);
      const before = await snapshot(stack);
      const run = await init('--grafana-port', '3001');
      expect(run.exitCode).toBe(2);
      expect(run.stderr).toContain(message);
      expect(run.stderr).not.toMatch(/Unexpected error|TypeError|    at /);
      expect(await snapshot(stack)).toEqual(before);
    });
  }

  it('a manifest from before "files" was recorded is still read (an optional field takes its default)', async () => {
    expect((await init('--name', 'older')).exitCode).toBe(0);
    await editManifest((m) => delete m.files);
    const run = await init();
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('Nothing to change');
    expect(JSON.parse(await readFile(manifestPath(), 'utf8')).options.name).toBe('older');
  });

  it('every problem is listed, and control characters from the file are escaped, not sent to the terminal', async () => {
    expect((await init()).exitCode).toBe(0);
    await editManifest((m) => {
      m.options.expose = 'yes';
      m.options.environment = '\u001b]0;owned\u0007';
      m.options.ports.jaegerUi = null;
    });
    const run = await init();
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('options.expose: expected true or false');
    expect(run.stderr).toContain('options.ports.jaegerUi: expected a whole number');
    expect(run.stderr).toContain('options.environment:');
    expect(run.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });

  it('up --local reads the manifest through the same schema: exit 2 with the field, no server started', async () => {
    expect((await init()).exitCode).toBe(0);
    await editManifest((m) => (m.options.ports = null));
    const run = await runCli(['up', '--local', '--dir', stack], { timeout: 30_000 });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('options.ports: expected an object, got null');
    expect(run.stderr).not.toMatch(/Unexpected error|TypeError/);
  });

  it('doctor reports a mistyped manifest as a failed check naming the field, not a crash', async () => {
    expect((await init()).exitCode).toBe(0);
    await editManifest((m) => (m.options.expose = 'false'));
    const run = await runCli(['doctor', '--json', '--timeout', '1', '--dir', stack, '--no-in-container']);
    expect(run.stderr).not.toMatch(/Unexpected error|TypeError/);
    const report = JSON.parse(run.stdout) as { groups: { checks: { id: string; status: string; detail: string }[] }[] };
    const check = report.groups.flatMap((g) => g.checks).find((c) => c.id === 'stack.manifest');
    expect(check?.status).toBe('fail');
    expect(check?.detail).toContain('options.expose: expected true or false, got the string "false"');
    expect(run.exitCode).toBe(1);
  });
});

/**
 * A preloaded module that sends this process a signal at a chosen point of init's writes: once the Nth
 * temporary file is written (staging) or the Nth rename is done (commit). Deterministic, unlike a timer.
 */
async function interruptAt(phase: 'stage' | 'commit', nth: number, signal = 'SIGINT'): Promise<Record<string, string | undefined>> {
  const preload = path.join(work.dir, `${signal}-${phase}-${nth}.mjs`);
  await writeFile(
    preload,
    `import { createRequire, syncBuiltinESMExports } from 'node:module';
const fs = createRequire(import.meta.url)('node:fs');
let count = 0;
const wrap = (name, matches) => {
  const original = fs[name];
  fs[name] = function (...args) {
    const hit = matches(String(args[0])) && ++count === ${nth};
    const result = original.apply(this, args);
    if (hit) process.kill(process.pid, '${signal}');
    return result;
  };
};
${phase === 'stage' ? "wrap('writeFileSync', (file) => file.endsWith('.tmp'));" : "wrap('renameSync', (file) => file.endsWith('.tmp'));"}
syncBuiltinESMExports();
`,
  );
  return cleanEnv({ NODE_OPTIONS: `--import ${pathToFileURL(preload).href}` });
}

const strayTemps = async (dir: string) => Object.keys(await snapshot(dir)).filter((file) => file.endsWith('.tmp'));

describe('Ctrl-C during the writes never leaves a half-written stack', () => {
  it('while staging a fresh stack: exit 130, no directory, no .tmp; the next run needs no --force', async () => {
    const run = await runCli(['init', '--yes', '--dir', stack], { env: await interruptAt('stage', 4) });
    expect(run.exitCode).toBe(130);
    expect(run.stderr).toContain('Interrupted (SIGINT); nothing was written.');
    expect(existsSync(stack)).toBe(false);
    const again = await init('--no-jaeger');
    expect(again.exitCode, again.stderr).toBe(0);
  });

  it('while staging a re-run with another flag: every file as before, no .tmp; re-running with that flag works', async () => {
    expect((await init()).exitCode).toBe(0);
    const before = await snapshot(stack);
    const run = await runCli(['init', '--yes', '--dir', stack, '--grafana-port', '3005'], { env: await interruptAt('stage', 3) });
    expect(run.exitCode).toBe(130);
    expect(await snapshot(stack)).toEqual(before);
    const again = await init('--no-grafana');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await strayTemps(stack)).toEqual([]);
  });

  it('during the commit (renames): the commit finishes, exit 130 says so, and --check finds the stack complete', async () => {
    expect((await init()).exitCode).toBe(0);
    const run = await runCli(['init', '--yes', '--dir', stack, '--grafana-port', '3005'], { env: await interruptAt('commit', 2) });
    expect(run.exitCode).toBe(130);
    expect(run.stderr).toContain('the commit was finished first, so every file is written');
    expect(await strayTemps(stack)).toEqual([]);
    expect(await readFile(path.join(stack, 'docker-compose.yml'), 'utf8')).toContain('127.0.0.1:3005:3000');
    const check = await runCli(['init', '--check', '--dir', stack]);
    expect(check.exitCode, check.stderr).toBe(0);
  });

  it('a run killed outright (SIGKILL) leaves its temporary files; the next run removes them', async () => {
    expect((await init()).exitCode).toBe(0);
    const killed = await runCli(['init', '--yes', '--dir', stack, '--grafana-port', '3005'], { env: await interruptAt('stage', 3, 'SIGKILL') });
    expect(killed.exitCode).not.toBe(0);
    expect((await strayTemps(stack)).length).toBeGreaterThan(0);
    const again = await init('--grafana-port', '3005');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await strayTemps(stack)).toEqual([]);
  });

  it('a real Ctrl-C at any moment leaves the old stack or the new one, and a re-run needs no --force', async () => {
    expect((await init()).exitCode).toBe(0);
    for (const delayMs of [50, 120, 200, 300, 450]) {
      const child = execa('node', [BIN, 'init', '--yes', '--dir', stack, '--environment', `e${delayMs}`], { env: cleanEnv(), extendEnv: false, reject: false });
      setTimeout(() => child.kill('SIGINT'), delayMs);
      const result = await child;
      expect(await strayTemps(stack), `SIGINT after ${delayMs} ms`).toEqual([]);
      // Killed before init ran, interrupted (130), or finished (0): in every case the stack is whole.
      expect([0, 130, null], `SIGINT after ${delayMs} ms: ${result.stderr}`).toContain(result.exitCode ?? null);
      const check = await runCli(['init', '--check', '--dir', stack]);
      expect(check.exitCode, `SIGINT after ${delayMs} ms: ${check.stderr}`).toBe(0);
    }
    const again = await init('--environment', 'final');
    expect(again.exitCode, again.stderr).toBe(0);
  });
});

describe('directories that refuse mkdir end with exit 2, never a spin', () => {
  it.skipIf(!existsSync('/proc/self'))('--dir /proc/<something new> exits 2 naming --dir', async () => {
    const run = await runCli(['init', '--yes', '--dir', '/proc/loom-otel-test/stack'], { timeout: 20_000 });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/--dir \/proc\/loom-otel-test\/stack: /);
    expect(run.stderr).toContain('Fix:');
  });

  it.skipIf(!existsSync('/sys/kernel'))('--dir /sys/<something new> exits 2 naming --dir', async () => {
    const run = await runCli(['init', '--yes', '--dir', '/sys/loom-otel-test'], { timeout: 20_000 });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/--dir \/sys\/loom-otel-test: /);
  });
});

describe('symbolic links inside the stack directory are refused, never followed', () => {
  it('a grafana/ link to a folder outside: exit 1 naming the link, nothing written there or in the stack', async () => {
    const outside = path.join(work.dir, 'elsewhere');
    await mkdir(outside);
    await mkdir(stack);
    await symlink(outside, path.join(stack, 'grafana'));
    const run = await init();
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(`${path.join(stack, 'grafana')} is a symbolic link`);
    expect(run.stderr).toContain('Fix: Replace the link');
    expect(await readdir(outside)).toEqual([]);
    expect(await readdir(stack)).toEqual(['grafana']);
  });

  it('a .env link: its target keeps its content and mode, and its password is not read', async () => {
    expect((await init()).exitCode).toBe(0);
    const target = path.join(work.dir, 'shared.env');
    await writeFile(target, 'GF_SECURITY_ADMIN_PASSWORD=not-for-loom\n');
    await chmod(target, 0o644);
    await rm(path.join(stack, '.env'));
    await symlink(target, path.join(stack, '.env'));
    for (const args of [[], ['--force'], ['--check']]) {
      const run = await init(...args);
      expect(run.exitCode, args.join(' ')).toBe(1);
      expect(run.stderr).toContain(`${path.join(stack, '.env')} is a symbolic link`);
    }
    expect((await stat(target)).mode & 0o777).toBe(0o644);
    expect(await readFile(target, 'utf8')).toBe('GF_SECURITY_ADMIN_PASSWORD=not-for-loom\n');
    expect((await lstat(path.join(stack, '.env'))).isSymbolicLink()).toBe(true);
  });

  it('a loom-otel.json link is refused before it is read', async () => {
    await mkdir(stack);
    await writeFile(path.join(work.dir, 'other.json'), '{}');
    await symlink(path.join(work.dir, 'other.json'), manifestPath());
    const run = await init();
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('loom-otel.json is a symbolic link');
    expect(await readFile(path.join(work.dir, 'other.json'), 'utf8')).toBe('{}');
  });

  it('a FIFO where .env goes is refused, not read forever', async () => {
    await mkdir(stack);
    await execa('mkfifo', [path.join(stack, '.env')]);
    const run = await init();
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(`Cannot read ${path.join(stack, '.env')} (not a regular file)`);
    expect(await readdir(stack)).toEqual(['.env']);
  });

  it('a FIFO or a device at loom-otel.json: every command that reads the manifest names it and ends, init --force replaces it; doctor reads the other stack files alike', async () => {
    await mkdir(stack);
    await execa('mkfifo', [manifestPath()]);
    const refused = `${manifestPath()} is not a regular file, so loom-otel does not read it.`;
    for (const args of [['status'], ['down'], ['up', '--local'], ['send-test-trace'], ['init', '--yes']]) {
      const run = await runCli([...args, '--dir', stack], { timeout: 20_000 });
      expect(run.exitCode, `${args.join(' ')}: ${run.stderr}`).toBe(1);
      expect(run.stderr).toContain(refused);
      expect(run.stderr).toContain(`\`loom-otel init --dir ${stack} --force\``);
    }
    const doctor = await runCli(['doctor', '--json', '--timeout', '1', '--dir', stack, '--no-in-container'], { timeout: 20_000 });
    const checks = (JSON.parse(doctor.stdout) as { groups: { checks: { id: string; status: string; detail: string }[] }[] }).groups.flatMap((g) => g.checks);
    expect(checks.find((c) => c.id === 'stack.manifest')).toMatchObject({ status: 'fail', detail: refused });

    const replaced = await init('--force');
    expect(replaced.exitCode, replaced.stderr).toBe(0);
    expect((await lstat(manifestPath())).isFile()).toBe(true);

    // Every other file of the stack that doctor reads is read the same way.
    await rm(path.join(stack, 'docker-compose.yml'));
    await execa('mkfifo', [path.join(stack, 'docker-compose.yml')]);
    const compose = await runCli(['doctor', '--json', '--timeout', '1', '--dir', stack, '--no-in-container'], { timeout: 20_000 });
    const composeChecks = (JSON.parse(compose.stdout) as { groups: { checks: { id: string; status: string; detail: string }[] }[] }).groups.flatMap((g) => g.checks);
    expect(composeChecks.find((c) => c.id === 'stack.parse.docker-compose.yml')).toMatchObject({ status: 'fail', detail: 'docker-compose.yml cannot be read (not a regular file)' });

    const device = path.join(work.dir, 'device-stack');
    await mkdir(device);
    await symlink('/dev/zero', path.join(device, 'loom-otel.json'));
    const endless = await runCli(['status', '--dir', device], { timeout: 20_000 });
    expect(endless.exitCode).toBe(1);
    expect(endless.stderr).toContain(`${path.join(device, 'loom-otel.json')} is not a regular file`);
  });

  it('--dir itself may be a link (the user chose it): init writes into the folder it points at', async () => {
    const real = path.join(work.dir, 'real');
    await mkdir(real);
    await symlink(real, stack);
    const run = await init();
    expect(run.exitCode, run.stderr).toBe(0);
    expect(existsSync(path.join(real, 'docker-compose.yml'))).toBe(true);
  });
});

describe('the Grafana password survives leaving Grafana out and putting it back', () => {
  it('--no-grafana keeps it in .env, --grafana uses it again', async () => {
    expect((await init()).exitCode).toBe(0);
    const first = password(await readFile(path.join(stack, '.env'), 'utf8'));
    expect(first).toBeTruthy();
    expect((await init('--no-grafana')).exitCode).toBe(0);
    const without = await readFile(path.join(stack, '.env'), 'utf8');
    expect(password(without)).toBe(first);
    expect((await stat(path.join(stack, '.env'))).mode & 0o777).toBe(0o600);
    const back = await init('--grafana');
    expect(back.exitCode, back.stderr).toBe(0);
    expect(password(await readFile(path.join(stack, '.env'), 'utf8'))).toBe(first);
  });
});
