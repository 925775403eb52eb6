/**
 * The generated stack on a real engine: Podman serving the Docker API, the Docker CLI with the Compose v2
 * plugin, and images built here from the real collector, Jaeger and Prometheus (`npm run e2e:images`).
 * The tests drive it only through the built CLI, exactly as a Docker user does.
 *
 * Without those tools or images the tests skip with a message naming what is missing; in CI
 * (LOOM_OTEL_REQUIRE_VALIDATORS=1 or CI=true) a missing one fails them.
 */
import { execa, type ResultPromise } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { IMAGES, type HostPorts } from '../../src/stack/model.js';
import { cleanEnv, runCli, type CliRun } from './cli.js';
import { freePorts } from './ports.js';
import { hasTool, validatorsRequired } from './validators.js';

export const E2E_CACHE = process.env.LOOM_OTEL_E2E_CACHE || path.join(homedir(), '.cache/loom-otel-e2e');
/** The Python venv with the OpenTelemetry SDK, made by `npm run e2e:images`. */
export const PYTHON = path.join(E2E_CACHE, 'python-otel/bin/python');
export const PYTHON_AGENT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../fixtures/python-agent/loom_agent.py');

/** The images the real-stack tests run (Grafana is AGPL and never built: it is left out of these stacks). */
export const REAL_IMAGES = [IMAGES.collector, IMAGES.jaeger, IMAGES.prometheus] as const;

/** "image built here from the real <program> <version>", for test names. */
export function builtHere(image: string): string {
  const [name, version] = image.split(':') as [string, string];
  return `image built here from the real ${name.split('/').pop()} ${version}`;
}

const IMAGES_FIX = 'run `npm run e2e:images` (needs Go and Podman; see README "Tested against the real programs")';

/** What the real-stack tests need and do not find, or undefined when everything is there. */
export async function missingForRealStack(): Promise<string | undefined> {
  for (const [tool, hint] of [
    ['podman', 'apt-get install podman runc catatonit'],
    ['docker', 'apt-get install docker.io (the Docker CLI)'],
  ] as const) {
    if (!hasTool(tool)) return `${tool} is not installed (${hint})`;
  }
  const compose = await execa('docker', ['compose', 'version'], { reject: false });
  if (compose.exitCode !== 0) return `the Docker CLI has no Compose v2 plugin (${IMAGES_FIX})`;
  for (const image of REAL_IMAGES) {
    const found = await execa('podman', ['image', 'exists', `docker.io/${image}`], { reject: false });
    if (found.exitCode !== 0) return `the image ${image} is not built (${IMAGES_FIX})`;
  }
  if (!existsSync(PYTHON)) return `the Python OpenTelemetry SDK venv ${PYTHON} is missing (${IMAGES_FIX})`;
  return undefined;
}

/**
 * Whether the real-stack tests run. Prints why not on a developer machine; throws in CI, so a missing
 * engine or image fails there instead of passing silently.
 */
export async function realStackAvailable(): Promise<boolean> {
  const missing = await missingForRealStack();
  if (!missing) return true;
  if (validatorsRequired) throw new Error(`The real-stack tests are required in CI, but ${missing}.`);
  console.warn(`Real-stack tests skipped: ${missing}.`);
  return false;
}

/** `podman system service` serving the Docker API on a socket of its own; stopped by stop(). */
export interface DockerApi {
  dockerHost: string;
  /** The environment a Docker user has: DOCKER_HOST pointing at the engine. */
  env(extra?: Record<string, string | undefined>): Record<string, string | undefined>;
  stop(): Promise<void>;
}

export async function startDockerApi(): Promise<DockerApi> {
  const dir = await mkdtemp(path.join(tmpdir(), 'loom-otel-podman-'));
  const socket = path.join(dir, 'podman.sock');
  const service: ResultPromise = execa('podman', ['system', 'service', '--time=0', `unix://${socket}`], { reject: false, stdin: 'ignore' });
  const dockerHost = `unix://${socket}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const info = await execa('docker', ['version', '--format', '{{.Server.Version}}'], { reject: false, env: { DOCKER_HOST: dockerHost } });
    if (info.exitCode === 0) break;
    if (Date.now() > deadline || service.exitCode !== null) {
      service.kill();
      throw new Error(`podman system service did not serve the Docker API on ${socket}: ${String(info.stderr)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return {
    dockerHost,
    env: (extra = {}) => cleanEnv({ DOCKER_HOST: dockerHost, ...extra }),
    async stop() {
      service.kill('SIGTERM');
      await service;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Host ports for a stack, all free and none of them a default. */
export async function freeHostPorts(): Promise<HostPorts> {
  const [otlpGrpc, otlpHttp, collectorHealth, collectorMetrics, jaegerUi, prometheus, grafana] = (await freePorts(7)) as [number, number, number, number, number, number, number];
  return { otlpGrpc, otlpHttp, collectorHealth, collectorMetrics, jaegerUi, prometheus, grafana };
}

export function portFlags(ports: HostPorts): string[] {
  return [
    '--otlp-grpc-port', String(ports.otlpGrpc),
    '--otlp-http-port', String(ports.otlpHttp),
    '--health-port', String(ports.collectorHealth),
    '--metrics-port', String(ports.collectorMetrics),
    '--jaeger-port', String(ports.jaegerUi),
    '--prometheus-port', String(ports.prometheus),
    '--grafana-port', String(ports.grafana),
  ];
}

/** A unique Compose project name, so containers, networks and volumes never clash with another run's. */
export function projectName(label: string): string {
  return `loom-e2e-${label}-${process.pid}-${Date.now().toString(36)}`;
}

/** One generated stack in a temp directory, driven through the CLI with DOCKER_HOST set. */
export class RealStack {
  private constructor(
    readonly api: DockerApi,
    readonly dir: string,
    readonly name: string,
    readonly ports: HostPorts,
    /** The flags given to init besides --no-grafana, --name and the ports. */
    readonly flags: readonly string[],
    private readonly root: string,
  ) {}

  static async init(api: DockerApi, label: string, flags: string[]): Promise<RealStack> {
    const root = await mkdtemp(path.join(tmpdir(), `loom-otel-e2e-${label}-`));
    const dir = path.join(root, 'observability');
    const name = projectName(label);
    const ports = await freeHostPorts();
    const stack = new RealStack(api, dir, name, ports, flags, root);
    const init = await stack.cli(['init', '--yes', '--no-grafana', '--name', name, ...portFlags(ports), ...flags]);
    if (init.exitCode !== 0) throw new Error(`init failed: ${init.stderr}`);
    return stack;
  }

  /** What `up` tells a user to export for an agent on this machine (doctor judges the app's settings by it). */
  agentEnv(): Record<string, string> {
    return { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${this.ports.otlpGrpc}`, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_SERVICE_NAME: 'my-agent', DEPLOYMENT_ENV: 'development' };
  }

  /** `doctor --json` as an agent developer on this machine runs it: with the agent's settings, judged from the host. */
  doctor(): Promise<CliRun> {
    return this.cli(['doctor', '--json', '--timeout', '10', '--no-in-container'], { env: this.agentEnv() });
  }

  cli(args: string[], options: { timeoutMs?: number; env?: Record<string, string | undefined> } = {}): Promise<CliRun> {
    const withDir = args[0] === 'init' || !args.includes('--dir') ? [...args, '--dir', this.dir] : args;
    return runCli(withDir, { env: this.api.env(options.env), timeout: options.timeoutMs ?? 300_000 });
  }

  /** `docker compose` on this stack, as a user would type it (for logs, stop, ps). */
  compose(args: string[]) {
    return execa('docker', ['compose', '-f', path.join(this.dir, 'docker-compose.yml'), '--project-directory', this.dir, ...args], {
      reject: false,
      env: this.api.env(),
      extendEnv: false,
      timeout: 120_000,
    });
  }

  async logs(service: string): Promise<string> {
    const result = await this.compose(['logs', '--no-color', service]);
    return `${String(result.stdout)}\n${String(result.stderr)}`;
  }

  /** Stops and removes everything of this stack, volumes included, whatever state it is in. */
  async destroy(): Promise<void> {
    await this.compose(['down', '--volumes', '--timeout', '5']);
    await rm(this.root, { recursive: true, force: true });
  }
}

/** GET a JSON document from a stack's API (Jaeger, Prometheus). */
export async function getJson<T = unknown>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export interface PromSeries {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant PromQL query against the stack's Prometheus. */
export async function promQuery(stack: RealStack, query: string): Promise<PromSeries[]> {
  const url = `http://127.0.0.1:${stack.ports.prometheus}/api/v1/query?query=${encodeURIComponent(query)}`;
  const body = await getJson<{ status: string; data: { result: PromSeries[] } }>(url);
  return body.data.result;
}

/** Polls until `check` returns a value (not undefined) or the time is up; returns the last value seen. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 1000): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * The one warning that comes from how the images are built here, not from the generated configs: the
 * official Jaeger image embeds its UI (an npm build), the binary built here from the Go module serves a
 * placeholder page instead (the query API is whole).
 */
const BUILT_HERE_WARNINGS = [/ui assets not embedded in the binary, using a placeholder/];

/** Log lines at WARN level or worse: zap's console (`\twarn\t`) or JSON encoding, or logfmt (`level=WARN`). */
export function warnOrErrorLines(log: string): string[] {
  return log
    .split('\n')
    .filter((line) => /\t(warn|error|dpanic|panic|fatal)\t|"level":"(warn|error|dpanic|panic|fatal)"|\blevel=(warn|error|fatal)\b/i.test(line))
    .filter((line) => !BUILT_HERE_WARNINGS.some((known) => known.test(line)));
}

/** Runs the Python agent (the OTel Python SDK configured like Loom's init_telemetry) against an endpoint. */
export async function runPythonAgent(endpoint: string, service: string, traces = 1): Promise<{ traceIds: string[]; spans: number; flushed: boolean; promptTokens: number; completionTokens: number }> {
  const result = await execa(PYTHON, [PYTHON_AGENT, '--endpoint', endpoint, '--service', service, '--traces', String(traces)], {
    reject: false,
    env: cleanEnv({ DEPLOYMENT_ENV: 'e2e' }),
    extendEnv: false,
    timeout: 120_000,
  });
  if (result.exitCode !== 0) throw new Error(`the Python agent failed: ${String(result.stderr)}`);
  return JSON.parse(String(result.stdout).trim().split('\n').pop() ?? '{}');
}
