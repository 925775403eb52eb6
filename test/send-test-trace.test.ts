/**
 * `send-test-trace` end to end against the real `loom-otel up --local` (its OTLP receivers, trace store
 * and Jaeger query API), for every protocol: every span, attribute, parent link, service and status is
 * checked through the query API, as Jaeger would show it. With the real `prometheus` binary scraping the
 * local stack's spanmetrics, the Prometheus hop is proven too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BIN, cleanEnv, runCli, tempDir } from './helpers/cli.js';
import { freePort } from './helpers/ports.js';
import { requireTool } from './helpers/validators.js';

interface Tag {
  key: string;
  type: string;
  value: unknown;
}
interface JaegerSpan {
  spanID: string;
  operationName: string;
  references: Array<{ refType: string; spanID: string }>;
  startTime: number;
  duration: number;
  tags: Tag[];
  logs: Array<{ fields: Tag[] }>;
  processID: string;
}
interface JaegerTrace {
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: Tag[] }>;
}

interface LocalStack {
  process: ResultPromise;
  urls: { otlpGrpc: string; otlpHttp: string; jaegerUi: string; collectorMetrics: string };
}

let stack: LocalStack;
let cleanup: () => Promise<void>;
let workDir: string;
const hasPrometheus = requireTool('prometheus', 'apt-get install prometheus');
let prometheus: { process: ResultPromise; url: string } | undefined;

/** The real Prometheus, scraping the local stack's spanmetrics exposition every second. */
async function startPrometheus(metricsHost: string): Promise<{ process: ResultPromise; url: string }> {
  const config = path.join(workDir, 'prometheus.yml');
  await writeFile(config, `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: loom-local\n    static_configs:\n      - targets: ['${metricsHost}']\n`);
  const port = await freePort();
  const process = execa('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${path.join(workDir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`], {
    reject: false,
  });
  return { process, url: `http://127.0.0.1:${port}` };
}

beforeAll(async () => {
  ({ dir: workDir, cleanup } = await tempDir());
  const child = execa(
    'node',
    [BIN, '--json', 'up', '--local', '--quiet', '--dir', path.join(workDir, 'no-stack'), '--otlp-grpc-port', '0', '--otlp-http-port', '0', '--jaeger-port', '0', '--health-port', '0', '--metrics-port', '0'],
    { env: cleanEnv(), extendEnv: false, reject: false, buffer: false },
  );
  const listening = await new Promise<LocalStack['urls']>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      for (const line of text.split('\n')) {
        if (line.includes('"listening"')) resolve((JSON.parse(line) as { urls: LocalStack['urls'] }).urls);
      }
    });
    child.once('exit', (code) => reject(new Error(`up --local exited with ${code} before listening`)));
  });
  stack = { process: child, urls: listening };
  // Started now so it is scraping by the time its test runs.
  if (hasPrometheus) prometheus = await startPrometheus(new URL(listening.collectorMetrics).host);
});

afterAll(async () => {
  prometheus?.process.kill('SIGTERM');
  await prometheus?.process;
  stack?.process.kill('SIGTERM');
  await stack?.process;
  await cleanup?.();
});

/** The trace as the local Jaeger API serves it (polled briefly: with --no-verify nobody waited for it). */
async function storedTrace(traceId: string): Promise<JaegerTrace> {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(`${stack.urls.jaegerUi}/api/traces/${traceId}`);
    if (response.status === 200 || attempt === 20) {
      expect(response.status).toBe(200);
      const body = (await response.json()) as { data: JaegerTrace[] };
      return body.data[0]!;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const tag = (span: JaegerSpan, key: string) => span.tags.find((t) => t.key === key)?.value;

/** Name of the parent span and service of every span in the expected Loom trace. */
const EXPECTED_TREE: Array<{ name: string; parent?: string; side: 'agent' | 'core'; kind: string }> = [
  { name: 'cognitive.run', side: 'agent', kind: 'internal' },
  { name: 'llm.generate', parent: 'cognitive.run', side: 'agent', kind: 'client' },
  { name: 'cognitive.tool_call', parent: 'cognitive.run', side: 'agent', kind: 'internal' },
  { name: 'tool.invoke', parent: 'cognitive.tool_call', side: 'agent', kind: 'client' },
  { name: 'bridge.publish', parent: 'tool.invoke', side: 'core', kind: 'server' },
  { name: 'call', parent: 'bridge.publish', side: 'core', kind: 'internal' },
  { name: 'event.request', parent: 'cognitive.run', side: 'agent', kind: 'client' },
  { name: 'bridge.publish', parent: 'event.request', side: 'core', kind: 'server' },
  { name: 'publish', parent: 'bridge.publish', side: 'core', kind: 'producer' },
  { name: 'bridge.forward', parent: 'publish', side: 'core', kind: 'producer' },
  { name: 'event.emit', parent: 'cognitive.run', side: 'agent', kind: 'producer' },
  { name: 'bridge.publish', parent: 'event.emit', side: 'core', kind: 'server' },
  { name: 'publish', parent: 'bridge.publish', side: 'core', kind: 'producer' },
];

/** Attribute keys and Jaeger tag types of the seed's span catalogue. */
const CATALOGUE: Record<string, Record<string, string>> = {
  'cognitive.run': { 'agent.id': 'string', goal: 'string', strategy: 'string', max_iterations: 'int64', iterations: 'int64', tool_calls: 'int64', 'duration.ms': 'int64' },
  'llm.generate': {
    'llm.provider': 'string',
    'llm.model': 'string',
    'llm.temperature': 'float64',
    'llm.max_tokens': 'int64',
    'llm.prompt_tokens': 'int64',
    'llm.completion_tokens': 'int64',
    'llm.total_tokens': 'int64',
    'llm.duration_ms': 'int64',
  },
  'cognitive.tool_call': { 'tool.name': 'string', 'tool.arguments': 'string', 'tool.success': 'bool', 'tool.latency_ms': 'int64', 'context.reduced': 'bool', 'context.offloaded': 'bool' },
  'tool.invoke': { 'tool.name': 'string', 'agent.id': 'string', 'timeout.ms': 'int64', 'tool.status': 'string', 'tool.output.size': 'int64' },
  'event.emit': { 'event.topic': 'string', 'event.type': 'string', 'agent.id': 'string', 'envelope.id': 'string' },
  'event.request': { 'event.topic': 'string', 'event.type': 'string', 'agent.id': 'string', 'timeout.ms': 'int64', 'correlation.id': 'string' },
};

/** Checks the stored trace against the contract; returns spans by name for further checks. */
function checkLoomTrace(trace: JaegerTrace, agentService: string): Map<string, JaegerSpan[]> {
  const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
  const byName = new Map<string, JaegerSpan[]>();
  for (const span of trace.spans) byName.set(span.operationName, [...(byName.get(span.operationName) ?? []), span]);
  const service = (span: JaegerSpan) => trace.processes[span.processID]!.serviceName;
  expect(trace.spans).toHaveLength(15);
  expect(byName.get('llm.generate')).toHaveLength(3);
  expect(new Set(Object.values(trace.processes).map((p) => p.serviceName))).toEqual(new Set([agentService, 'loom-core']));

  // Every span has the expected parent (by name), service and kind; children lie within their parents.
  const shape = trace.spans.map((span) => {
    const parentId = span.references.find((r) => r.refType === 'CHILD_OF')?.spanID;
    const parent = parentId ? byId.get(parentId) : undefined;
    if (parentId) expect(parent, `parent of ${span.operationName}`).toBeDefined();
    if (parent) {
      expect(span.startTime).toBeGreaterThanOrEqual(parent.startTime);
      expect(span.startTime + span.duration).toBeLessThanOrEqual(parent.startTime + parent.duration);
    }
    expect(span.duration).toBeGreaterThan(0);
    return `${parent?.operationName ?? '-'} > ${span.operationName} @${service(span) === agentService ? 'agent' : service(span) === 'loom-core' ? 'core' : service(span)} ${String(tag(span, 'span.kind') ?? '')}`;
  });
  const expected = EXPECTED_TREE.flatMap((e) => {
    const line = `${e.parent ?? '-'} > ${e.name} @${e.side} ${e.kind}`;
    return e.name === 'llm.generate' ? [line, line, line] : [line];
  });
  expect(shape.sort()).toEqual(expected.sort());

  // The catalogue's attributes, with their types.
  for (const [name, attributes] of Object.entries(CATALOGUE)) {
    for (const span of byName.get(name) ?? []) {
      for (const [key, type] of Object.entries(attributes)) {
        expect(span.tags.find((t) => t.key === key)?.type, `${name} ${key}`).toBe(type);
      }
    }
  }
  // Every span asks a collector's probabilistic_sampler to keep it, so a sampling stack still shows the whole trace.
  for (const span of trace.spans) expect(tag(span, 'sampling.priority'), span.operationName).toBe(1);
  for (const llm of byName.get('llm.generate')!) {
    expect(Number(tag(llm, 'llm.total_tokens'))).toBe(Number(tag(llm, 'llm.prompt_tokens')) + Number(tag(llm, 'llm.completion_tokens')));
    expect(Math.abs(Number(tag(llm, 'llm.duration_ms')) - llm.duration / 1000)).toBeLessThanOrEqual(1);
  }
  const root = byName.get('cognitive.run')![0]!;
  expect(Math.abs(Number(tag(root, 'duration.ms')) - root.duration / 1000)).toBeLessThanOrEqual(1);
  return byName;
}

describe('send-test-trace against up --local', () => {
  for (const protocol of ['grpc', 'http/protobuf', 'http/json'] as const) {
    it(`${protocol}: every span, attribute, parent link, service and status arrives as the catalogue says`, async () => {
      const endpoint = protocol === 'grpc' ? stack.urls.otlpGrpc : stack.urls.otlpHttp;
      const service = `agent-${protocol.replace('/', '-')}`;
      const run = await runCli(['--json', 'send-test-trace', '--endpoint', endpoint, '--protocol', protocol, '--jaeger-url', stack.urls.jaegerUi, '--service', service, '--attribute', 'test.run=42']);
      expect(run.exitCode, run.stderr).toBe(0);
      const doc = JSON.parse(run.stdout) as {
        ok: boolean;
        traceId: string;
        export: { ok: boolean; spans: number; rejectedSpans: number };
        jaeger: { visible: boolean; spans: number; services: string[] };
        trace: { source: string; spans: unknown[] };
        links: { jaeger: string };
      };
      expect(doc.ok).toBe(true);
      expect(doc.export).toMatchObject({ ok: true, spans: 15, rejectedSpans: 0 });
      expect(doc.jaeger).toMatchObject({ visible: true, spans: 15 });
      expect(new Set(doc.jaeger.services)).toEqual(new Set([service, 'loom-core']));
      expect(doc.trace.source).toBe('jaeger');
      expect(doc.links.jaeger).toBe(`${stack.urls.jaegerUi}/trace/${doc.traceId}`);

      const trace = await storedTrace(doc.traceId);
      const byName = checkLoomTrace(trace, service);
      const root = byName.get('cognitive.run')![0]!;
      expect(tag(root, 'test.run')).toBe('42');
      for (const name of ['cognitive.tool_call', 'tool.invoke', 'call']) {
        expect(tag(byName.get(name)![0]!, 'otel.status_code'), name).toBe('OK');
      }
      expect(trace.spans.some((s) => tag(s, 'error') === true)).toBe(false);
      expect(tag(byName.get('tool.invoke')![0]!, 'tool.status')).toBe('TOOL_OK');
      for (const process of Object.values(trace.processes)) {
        const resource = Object.fromEntries(process.tags.map((t) => [t.key, t.value]));
        expect(resource).toMatchObject({ 'service.version': expect.stringMatching(/^\d+\.\d+\.\d+/), 'deployment.environment': 'development' });
      }
    });
  }

  it('--error: the tool fails with ERROR status and an exception event on call, tool.invoke and cognitive.tool_call', async () => {
    const run = await runCli(['send-test-trace', '--endpoint', stack.urls.otlpGrpc, '--jaeger-url', stack.urls.jaegerUi, '--error']);
    expect(run.exitCode, run.stderr).toBe(0);
    const traceId = /^Trace ([0-9a-f]{32})$/m.exec(run.stdout.split('\n')[0]!)?.[1];
    expect(traceId).toBeDefined();
    expect(run.stdout).toContain('As stored in Jaeger:');
    expect(run.stdout.split('\n').filter((line) => line.includes('✖ error'))).toHaveLength(3);

    const byName = checkLoomTrace(await storedTrace(traceId!), 'loom-test-agent');
    for (const name of ['call', 'tool.invoke', 'cognitive.tool_call']) {
      const span = byName.get(name)![0]!;
      expect(tag(span, 'error'), name).toBe(true);
      expect(tag(span, 'otel.status_code'), name).toBe('ERROR');
      const exception = span.logs.find((log) => log.fields.some((f) => f.key === 'event' && f.value === 'exception'));
      expect(exception?.fields.find((f) => f.key === 'exception.type')?.value, name).toBe('ToolError');
    }
    expect(tag(byName.get('cognitive.tool_call')![0]!, 'tool.success')).toBe(false);
    expect(tag(byName.get('tool.invoke')![0]!, 'tool.status')).toBe('TOOL_ERROR');
    expect(tag(byName.get('cognitive.run')![0]!, 'error')).toBeUndefined();
  });

  it('endpoint, protocol and gzip from OTEL_EXPORTER_OTLP_*, service and resource from OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES and DEPLOYMENT_ENV', async () => {
    const run = await runCli(['--json', 'send-test-trace', '--no-verify'], {
      env: cleanEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: stack.urls.otlpHttp,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
        OTEL_SERVICE_NAME: 'researcher-agent',
        OTEL_RESOURCE_ATTRIBUTES: 'service.name=ignored,team=search%20quality',
        DEPLOYMENT_ENV: 'staging',
      }),
      cwd: workDir,
    });
    expect(run.exitCode, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout) as { traceId: string; endpoint: { url: string; source: string }; service: { name: string; source: string } };
    expect(doc.endpoint).toEqual(expect.objectContaining({ url: `${stack.urls.otlpHttp}/v1/traces`, source: 'env OTEL_EXPORTER_OTLP_ENDPOINT' }));
    expect(doc.service).toEqual({ name: 'researcher-agent', source: 'env OTEL_SERVICE_NAME' });
    const trace = await storedTrace(doc.traceId);
    checkLoomTrace(trace, 'researcher-agent');
    for (const process of Object.values(trace.processes)) {
      const resource = Object.fromEntries(process.tags.map((t) => [t.key, t.value]));
      expect(resource).toMatchObject({ team: 'search quality', 'deployment.environment': 'staging' });
    }
  });

  it('takes the environment from deployment.environment.name in OTEL_RESOURCE_ATTRIBUTES too', async () => {
    const run = await runCli(['--json', 'send-test-trace', '--no-verify', '--endpoint', stack.urls.otlpGrpc], {
      env: cleanEnv({ OTEL_SERVICE_NAME: 'env-name-agent', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=qa' }),
      cwd: workDir,
    });
    expect(run.exitCode, run.stderr).toBe(0);
    const trace = await storedTrace((JSON.parse(run.stdout) as { traceId: string }).traceId);
    for (const process of Object.values(trace.processes)) {
      const resource = Object.fromEntries(process.tags.map((t) => [t.key, t.value]));
      expect(resource).toMatchObject({ 'deployment.environment': 'qa', 'deployment.environment.name': 'qa' });
    }
  });

  it('load mode: every trace of the run is stored', async () => {
    const service = 'load-agent';
    const run = await runCli(['--json', 'send-test-trace', '--endpoint', stack.urls.otlpGrpc, '--service', service, '--count', '150', '--concurrency', '2']);
    expect(run.exitCode, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout) as { tracesSent: number; spansSent: number; failedExports: number };
    expect(doc).toMatchObject({ tracesSent: 150, spansSent: 150 * 15, failedExports: 0 });
    const search = await fetch(`${stack.urls.jaegerUi}/api/traces?service=${service}&limit=1000`);
    const found = (await search.json()) as { data: JaegerTrace[] };
    expect(found.data).toHaveLength(150);
    expect(found.data.every((trace) => trace.spans.length === 15)).toBe(true);
  });
});

describe('send-test-trace finds the up --local its endpoint points at (its PID file)', () => {
  it('checks the span metrics on its metrics endpoint, and prints its viewer links, not Grafana', async () => {
    const run = await runCli(['send-test-trace', '--service', 'local-hop-agent'], { env: cleanEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: stack.urls.otlpGrpc }), cwd: workDir });
    expect(run.exitCode, run.stderr).toBe(0);
    const traceId = /^Trace ([0-9a-f]{32})$/m.exec(run.stdout)?.[1];
    expect(run.stdout).toMatch(new RegExp(`Jaeger\\s+15/15 spans, 2 services .*\\(${stack.urls.jaegerUi}\\)`));
    expect(run.stdout).toMatch(new RegExp(`Metrics\\s+spanmetrics for local-hop-agent after \\d+\\.\\d+ s \\(${stack.urls.collectorMetrics}\\)`));
    expect(run.stdout).not.toContain('not checked');
    expect(run.stdout).toContain(`Viewer:  ${stack.urls.jaegerUi}/trace/${traceId}`);
    expect(run.stdout).toContain(`Search:  ${stack.urls.jaegerUi}/search?service=local-hop-agent`);
    expect(run.stdout).toContain(`Metrics: ${stack.urls.jaegerUi}/metrics`);
    expect(run.stdout).not.toContain('Grafana');

    const json = await runCli(['--json', 'send-test-trace', '--service', 'local-hop-json'], { env: cleanEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: stack.urls.otlpHttp, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }), cwd: workDir });
    expect(json.exitCode, json.stderr).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc.prometheus).toMatchObject({ kind: 'metrics-endpoint', url: stack.urls.collectorMetrics, visible: true, service: 'local-hop-json', before: 0, calls: 8 }); // the agent's 8 of the 15 spans
    expect(doc.prometheus.source).toMatch(/^up --local \(PID \d+\)$/);
    expect(doc.links).toEqual({ jaeger: `${stack.urls.jaegerUi}/trace/${doc.traceId}`, search: `${stack.urls.jaegerUi}/search?service=local-hop-json`, metrics: `${stack.urls.jaegerUi}/metrics` });
  });

  it('on a terminal, a spinner names the hop it waits for (in --json mode too, on stderr)', async () => {
    for (const json of [false, true]) {
      // script(1) gives the command a pseudo-terminal, as a user's shell would.
      const command = `node ${BIN} ${json ? '--json ' : ''}send-test-trace --service spinner-agent`;
      const run = await execa('script', ['-qec', command, '/dev/null'], { env: cleanEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: stack.urls.otlpGrpc }), extendEnv: false, cwd: workDir, reject: false });
      expect(run.exitCode, String(run.stdout)).toBe(0);
      const output = String(run.stdout);
      expect(output).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] waiting for the export to http:\/\/127\.0\.0\.1:\d+ · \d+\.\d s/);
      expect(output).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] waiting for (Jaeger and the span metrics|Jaeger|the span metrics) · \d+\.\d s/);
    }
    // Without a terminal: no spinner.
    const piped = await runCli(['send-test-trace', '--service', 'spinner-agent'], { env: cleanEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: stack.urls.otlpGrpc }), cwd: workDir });
    expect(piped.stderr).not.toContain('waiting for');
  });
});

describe.runIf(hasPrometheus)('send-test-trace with a real Prometheus scraping up --local', () => {
  it('reports the Prometheus hop once the spanmetrics of the test service are scraped', async () => {
    const url = prometheus!.url;
    for (let i = 0; i < 100; i++) {
      const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
      if (ready) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const run = await runCli(['--json', 'send-test-trace', '--endpoint', stack.urls.otlpGrpc, '--jaeger-url', stack.urls.jaegerUi, '--prometheus-url', url, '--service', 'prometheus-agent']);
    expect(run.exitCode, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout) as { prometheus: { visible: boolean; service: string; before: number; calls: number } };
    expect(doc.prometheus).toMatchObject({ visible: true, service: 'prometheus-agent', before: 0 });
    expect(doc.prometheus.calls).toBe(8);
  });
});
