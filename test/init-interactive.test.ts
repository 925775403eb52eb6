/**
 * `loom-otel init` answered through a real pseudo-terminal (`script` allocates it), the way a person
 * types: each answer is sent once its question is on the screen.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { BIN, cleanEnv, tempDir } from './helpers/cli.js';
import { requireTool } from './helpers/validators.js';

const hasScript = requireTool('script', 'apt-get install bsdutils');
const KEYS = { enter: '\r', down: '\u001b[B', space: ' ', ctrlC: '\u0003' };

interface Terminal {
  /** Resolves once the screen (ANSI codes removed) has shown `pattern` after the last answer. */
  waitFor(pattern: RegExp): Promise<void>;
  type(keys: string): void;
  exit: Promise<number>;
  screen(): string;
}

function openTerminal(args: string[], cwd: string): Terminal {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child: ChildProcessWithoutNullStreams = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd,
    env: { ...cleanEnv(), TERM: 'xterm-256color', COLUMNS: '120', LINES: '40' } as NodeJS.ProcessEnv,
  });
  let output = '';
  let consumed = 0;
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const plain = () => output.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
  const check = () => {
    for (const waiter of [...waiters]) {
      const text = plain().slice(consumed);
      const match = waiter.pattern.exec(text);
      if (match) {
        consumed += match.index + match[0].length;
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    check();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exit = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return {
    waitFor: (pattern) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`Timed out waiting for ${pattern}. Screen:\n${plain()}`)), 20_000);
        waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) });
        check();
      }),
    type: (keys) => child.stdin.write(keys),
    exit: exit.finally(() => child.stdin.end()),
    screen: plain,
  };
}

let work: { dir: string; cleanup: () => Promise<void> };
let terminal: Terminal | undefined;
beforeEach(async () => {
  work = await tempDir('loom-otel-pty-');
});
afterEach(async () => {
  if (terminal) {
    terminal.type(KEYS.ctrlC);
    await terminal.exit;
    terminal = undefined;
  }
  await work.cleanup();
});

describe.skipIf(!hasScript)('loom-otel init in a terminal', () => {
  it('asks every question and writes the stack that was answered', async () => {
    const stack = path.join(work.dir, 'obs');
    const t = (terminal = openTerminal(['init', '--dir', stack], work.dir));
    await t.waitFor(/Stack name/);
    t.type(`agents-pty${KEYS.enter}`);
    await t.waitFor(/Parts of the stack/);
    t.type(KEYS.down + KEYS.down + KEYS.space + KEYS.enter); // untick Grafana
    await t.waitFor(/Keep them\?/);
    t.type(`n${KEYS.enter}`);
    await t.waitFor(/Host port for OTLP gRPC/);
    t.type(`14317${KEYS.enter}`);
    for (const question of [/OTLP HTTP/, /health_check/, /spanmetrics/, /Jaeger UI/, /Prometheus UI/]) {
      await t.waitFor(new RegExp(`Host port for [^?]*${question.source}`));
      t.type(KEYS.enter); // keep the default
    }
    await t.waitFor(/Publish the ports on/);
    t.type(KEYS.enter);
    await t.waitFor(/Deployment environment/);
    t.type(`staging${KEYS.enter}`);
    await t.waitFor(/Percentage of traces/);
    t.type(`20${KEYS.enter}`);
    expect(await t.exit, t.screen()).toBe(0);
    terminal = undefined;

    const manifest = JSON.parse(await readFile(path.join(stack, 'loom-otel.json'), 'utf8'));
    expect(manifest.options).toMatchObject({
      name: 'agents-pty',
      parts: { jaeger: true, prometheus: true, grafana: false },
      expose: false,
      environment: 'staging',
      samplingPercent: 20,
    });
    expect(manifest.options.ports.otlpGrpc).toBe(14317);
    expect(await readFile(path.join(stack, 'docker-compose.yml'), 'utf8')).toContain('"127.0.0.1:14317:4317"');
  });

  it('an invalid answer is refused with the reason and asked again', async () => {
    const stack = path.join(work.dir, 'obs');
    const t = (terminal = openTerminal(['init', '--dir', stack, '--no-grafana', '--expose', '--environment', 'dev', '--sampling', '100', '--otlp-grpc-port', '4317'], work.dir));
    await t.waitFor(/Stack name/);
    t.type(`Bad Name${KEYS.enter}`);
    await t.waitFor(/not a valid Compose project name/);
    t.type('\u007f'.repeat(8) + `good-name${KEYS.enter}`);
    expect(await t.exit, t.screen()).toBe(0);
    terminal = undefined;
    const manifest = JSON.parse(await readFile(path.join(stack, 'loom-otel.json'), 'utf8'));
    expect(manifest.options).toMatchObject({ name: 'good-name', expose: true, environment: 'dev' });
  });

  it('Ctrl-C at a prompt exits 130 and writes nothing', async () => {
    const stack = path.join(work.dir, 'obs');
    const t = (terminal = openTerminal(['init', '--dir', stack], work.dir));
    await t.waitFor(/Stack name/);
    t.type(`agents${KEYS.enter}`);
    await t.waitFor(/Parts of the stack/);
    t.type(KEYS.ctrlC);
    expect(await t.exit).toBe(130);
    terminal = undefined;
    expect(t.screen()).toContain('nothing was written');
    await expect(stat(stack)).rejects.toThrow();
  });
});
