/**
 * `loom-otel completion bash|zsh|fish`: each script is loaded into the real shell and asked what it
 * completes, the way the shell asks when Tab is pressed.
 */
import { execa } from 'execa';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';
import { requireTool } from './helpers/validators.js';

let work: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  work = await tempDir();
});
afterAll(async () => {
  await work.cleanup();
});

async function script(shell: string): Promise<string> {
  const run = await runCli(['completion', shell]);
  expect(run.exitCode, run.stderr).toBe(0);
  const file = path.join(work.dir, `completion.${shell}`);
  await writeFile(file, run.stdout);
  return file;
}

describe('loom-otel completion', () => {
  it('refuses a shell it has no script for, with exit 2', async () => {
    const run = await runCli(['completion', 'tcsh']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('must be one of bash, zsh, fish, not "tcsh"');
  });

  it('bash: completes commands, then the flags of the command typed', async () => {
    const file = await script('bash');
    const complete = async (line: string) => {
      const words = line.split(' ');
      const program = `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _loom_otel; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return (await execa('bash', ['-c', program])).stdout.split('\n');
    };
    expect(await complete('loom-otel s')).toEqual(['status', 'send-test-trace']);
    expect(await complete('loom-otel --json up --lo')).toEqual(['--local']);
    expect(await complete('loom-otel send-test-trace --prot')).toEqual(['--protocol']);
    expect(await complete('loom-otel completion z')).toEqual(['zsh']);
  });

  it.runIf(requireTool('zsh', 'apt install zsh'))('zsh: the script loads under compinit and registers the completion', async () => {
    const file = await script('zsh');
    const run = await execa('zsh', ['-f', '-c', `autoload -U compinit && compinit -u -D && source ${file} && print -r -- $_comps[loom-otel]`], { reject: false });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('_loom_otel');
  });

  it.runIf(requireTool('fish', 'apt install fish'))('fish: completes commands, then the flags of the command typed', async () => {
    const file = await script('fish');
    const complete = async (line: string) =>
      (await execa('fish', ['--no-config', '-c', `source ${file}; complete -C '${line}'`])).stdout.split('\n').map((row) => row.split('\t')[0]);
    expect(await complete('loom-otel s')).toEqual(expect.arrayContaining(['status', 'send-test-trace']));
    expect(await complete('loom-otel init --no-')).toEqual(expect.arrayContaining(['--no-jaeger', '--no-prometheus', '--no-grafana', '--no-expose']));
    expect(await complete('loom-otel completion ')).toEqual(['bash', 'fish', 'zsh']); // fish sorts
  });
});
