/**
 * The other commands on a Kubernetes stack: `init --check` guards drift, `doctor --dir` lints the collector
 * config inside the ConfigMap and prints the in-cluster endpoint, and up/status/down name the kubectl
 * command instead of starting a container engine. The built CLI, as a user runs it; no cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { BIN, cleanEnv, runCli, tempDir } from './helpers/cli.js';
import { freePort } from './helpers/ports.js';

let work: { dir: string; cleanup: () => Promise<void> };
let stack: string;
beforeAll(async () => {
  work = await tempDir('loom-otel-k8s-cmd-');
  stack = path.join(work.dir, 'k8s');
  const run = await runCli(['init', '--yes', '--target', 'kubernetes', '--namespace', 'agents-obs', '--dir', stack]);
  if (run.exitCode !== 0) throw new Error(run.stderr);
});
afterAll(async () => {
  await work.cleanup();
});

type Check = { id: string; title: string; status: string; detail?: string; fix?: string };
async function doctor(dir: string): Promise<{ exitCode: number; checks: Check[]; groups: Array<{ id: string; checks: Check[] }> }> {
  // A closed port keeps the connectivity checks quick; they are not what is tested here.
  const run = await runCli(['--json', 'doctor', '--dir', dir, '--timeout', '1', '--endpoint', 'http://127.0.0.1:9']);
  const report = JSON.parse(run.stdout);
  return { exitCode: run.exitCode, checks: report.groups.flatMap((g: { checks: Check[] }) => g.checks), groups: report.groups };
}

async function copyStack(name: string): Promise<string> {
  const copy = path.join(work.dir, name);
  const run = await runCli(['init', '--yes', '--target', 'kubernetes', '--namespace', 'agents-obs', '--dir', copy]);
  expect(run.exitCode, run.stderr).toBe(0);
  return copy;
}

/** A fresh stack whose collector.yaml has one edit (which must match), and doctor's report on it. */
async function doctorAfterEdit(name: string, from: string | RegExp, to: string) {
  const dir = await copyStack(name);
  const file = path.join(dir, 'collector.yaml');
  const text = await readFile(file, 'utf8');
  const edited = text.replace(from, to);
  expect(edited).not.toBe(text);
  await writeFile(file, edited);
  return doctor(dir);
}

describe('init --check on a Kubernetes stack', () => {
  it('passes on a fresh stack and fails naming an edited manifest', async () => {
    const clean = await runCli(['init', '--check', '--dir', stack]);
    expect(clean.exitCode, clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/Up to date: the \d+ files/);
    const dir = await copyStack('drift');
    const file = path.join(dir, 'collector.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('memory: 512Mi', 'memory: 2Gi'));
    const drift = await runCli(['init', '--check', '--dir', dir]);
    expect(drift.exitCode).toBe(1);
    expect(drift.stderr).toContain('collector.yaml: edited by hand');
    // A flag that changes the rendering is drift too: the namespace lives in every manifest.
    const moved = await runCli(['init', '--check', '--dir', stack, '--namespace', 'elsewhere']);
    expect(moved.exitCode).toBe(1);
    expect(moved.stderr).toContain('namespace.yaml: out of date');
  });
});

describe('doctor --dir on a Kubernetes stack', () => {
  it('lints the collector config inside the ConfigMap and prints the in-cluster endpoint', async () => {
    const { checks, groups } = await doctor(stack);
    const endpoint = checks.find((c) => c.id === 'stack.cluster-endpoint');
    expect(endpoint?.detail).toContain('http://otel-collector.agents-obs.svc:4317');
    const stackChecks = groups.find((g) => g.id === 'stack')?.checks ?? [];
    expect(stackChecks.filter((c) => c.status === 'fail' || c.status === 'warn')).toEqual([]);
    expect(stackChecks.some((c) => c.title.startsWith('collector.yaml ConfigMap otel-collector-config') && c.status === 'pass')).toBe(true);
    expect(checks.find((c) => c.id === 'stack.apply')?.detail).toContain(`kubectl apply -k`);
    expect(groups.find((g) => g.id === 'engine')?.checks).toMatchObject([{ status: 'skip' }]);
  });

  it('lints the config object of an OpenTelemetryCollector (--collector operator), and fails on a localhost receiver', async () => {
    const dir = path.join(work.dir, 'operator');
    expect((await runCli(['init', '--yes', '--target', 'kubernetes', '--collector', 'operator', '--dir', dir])).exitCode).toBe(0);
    const good = await doctor(dir);
    const titles = good.checks.filter((c) => c.title.startsWith('collector.yaml OpenTelemetryCollector otel (spec.config)'));
    expect(titles.length).toBeGreaterThan(3);
    expect(titles.filter((c) => c.status === 'fail' || c.status === 'warn')).toEqual([]);
    const file = path.join(dir, 'collector.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('endpoint: 0.0.0.0:4317', 'endpoint: localhost:4317'));
    const bad = await doctor(dir);
    const grpc = bad.checks.find((c) => c.title.startsWith('collector.yaml OpenTelemetryCollector') && /receivers\/otlp \(grpc\)/.test(c.title));
    expect(grpc?.status).toBe('fail');
  });

  it('fails on a pipeline that names an undefined component inside the ConfigMap', async () => {
    const { exitCode, checks } = await doctorAfterEdit('broken-config', /(exporters: \[[^\]\n]*)debug\]/, '$1debugg]');
    expect(exitCode).toBe(1);
    const failed = checks.filter((c) => c.status === 'fail' && c.title.startsWith('collector.yaml ConfigMap'));
    expect(failed.map((c) => c.detail).join('\n')).toContain('debugg');
  });

  it('fails when the ConfigMap moves a receiver to a port the Deployment does not list', async () => {
    const { exitCode, checks } = await doctorAfterEdit('moved-port', 'endpoint: 0.0.0.0:4318', 'endpoint: 0.0.0.0:4319');
    expect(exitCode).toBe(1);
    expect(checks.find((c) => c.id === 'stack.ports.4319')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('receivers/otlp (http) listens on 4319'),
      fix: expect.stringMatching(/`loom-otel init --dir \S+moved-port --force`/),
    });
    const clean = await doctor(stack);
    expect(clean.checks.find((c) => c.id === 'stack.ports')).toMatchObject({ status: 'pass' });
  });

  it('fails naming the file when the ConfigMap holds YAML that does not parse', async () => {
    const { exitCode, checks } = await doctorAfterEdit('bad-yaml', '      health_check:\n', '      health_check: [\n');
    expect(exitCode).toBe(1);
    expect(checks.find((c) => c.id === 'stack.collector-config')).toMatchObject({ status: 'fail', detail: expect.stringContaining('is not valid YAML') });
  });
});

describe('send-test-trace on a Kubernetes stack', () => {
  it("exports to and verifies at the forwarded ports loom-otel.json records (up --local stands in for kubectl port-forward: no cluster here)", async () => {
    const ports = ['--otlp-grpc-port', '--otlp-http-port', '--health-port', '--metrics-port', '--jaeger-port', '--prometheus-port', '--grafana-port'];
    const flags = (await Promise.all(ports.map(async (flag) => [flag, String(await freePort())]))).flat();
    const dir = path.join(work.dir, 'forwarded');
    expect((await runCli(['init', '--yes', '--target', 'kubernetes', '--no-prometheus', '--no-grafana', '--dir', dir, ...flags])).exitCode).toBe(0);
    const jaegerPort = flags[flags.indexOf('--jaeger-port') + 1];
    const readme = await readFile(path.join(dir, 'README.md'), 'utf8');
    expect(readme).toContain(`port-forward svc/jaeger ${jaegerPort}:16686`);
    const local = execa('node', [BIN, 'up', '--local', '--quiet', '--dir', dir], { env: cleanEnv(), extendEnv: false, reject: false });
    try {
      // It listens on the manifest's ports once it prints the OTLP/gRPC one.
      const grpc = `:${flags[flags.indexOf('--otlp-grpc-port') + 1]}`;
      let printed = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`up --local did not print ${grpc}: ${printed}`)), 30_000);
        local.stdout?.on('data', (chunk: Buffer) => {
          printed += chunk.toString();
          if (printed.includes(grpc)) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const run = await runCli(['send-test-trace', '--dir', dir]);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toContain(`http://127.0.0.1:${jaegerPort}/trace/`);
    } finally {
      local.kill('SIGTERM');
      await local;
    }
  });
});

describe('up, status and down on a Kubernetes stack', () => {
  for (const [command, kubectl] of [
    ['up', `kubectl apply -k ${'DIR'}`],
    ['status', 'kubectl -n agents-obs get deployments,pods,services'],
    ['down', `kubectl delete -k ${'DIR'}`],
  ] as const) {
    it(`${command} starts nothing and prints \`${kubectl.replace('DIR', '<dir>')}\` (exit 1)`, async () => {
      const run = await runCli([command, '--dir', stack]);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain(`Kubernetes stacks are applied with \`kubectl apply -k ${stack}\``);
      expect(run.stderr).toContain(`Run: ${kubectl.replace('DIR', stack)}`);
    });
  }
});
