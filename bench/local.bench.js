// Benchmark of `loom-otel up --local` (the built CLI, dist/): spans per second it ingests over OTLP/gRPC
// and OTLP/HTTP (protobuf), sent by the official OTel JS exporters from a separate load process, against
// a baseline measured in the same run: the same load sent to a bare grpc-js / node:http server that only
// acknowledges. Then its memory at default flags against its memory budget (--max-memory-mib): 1M spans
// of mixed sizes (small Loom spans; one in eight carries a 32 KiB prompt attribute; one in 20,000 has a
// 1 MiB name), the resident set sampled throughout and printed as a ratio to the budget, and /metrics
// checked (200, and `promtool check metrics` when promtool is installed).
//
//   node bench/local.bench.js            (or: npm run bench -- local)
//   LOCAL_BENCH_SPANS=200000 node bench/local.bench.js --memory-only   (a shorter memory run alone)
//   LOCAL_BENCH_MEMORY_MIB=512 ...                                      (another budget than the default 256)
//
// The same file is the load generator and the baseline server (--role=...), so each runs in its own process.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const BIN = path.join(path.dirname(here), '..', 'bin', 'loom-otel.js');
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));

const THROUGHPUT_SPANS = 100_000;
const ROUNDS = 3;
const MEMORY_SPANS = Number(process.env.LOCAL_BENCH_SPANS ?? 1_000_000);
/** up --local's default --max-memory-mib (src/local/limits.ts), or another budget to compare. */
const BUDGET_MIB = Number(process.env.LOCAL_BENCH_MEMORY_MIB ?? 256);
const PROMPT = 'You are a helpful agent. '.repeat(Math.ceil(32768 / 25)).slice(0, 32768);
const HUGE_NAME = 'n'.repeat(1024 * 1024);
const SPANS_PER_TRACE = 8;
const TRACES_PER_BATCH = 64; // 512 spans per export, like the BatchSpanProcessor's default batch size
const IN_FLIGHT = 4;

// ---------------------------------------------------------------- load generator (child process)
async function runLoad() {
  const { resourceFromAttributes } = await import('@opentelemetry/resources');
  const { ExportResultCode } = await import('@opentelemetry/core');
  const Exporter =
    args.protocol === 'grpc'
      ? (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter
      : (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter;
  const exporter = new Exporter({ url: args.protocol === 'grpc' ? args.url : `${args.url}/v1/traces`, timeoutMillis: 30_000 });
  const resource = resourceFromAttributes({ 'service.name': 'bench-agent', 'deployment.environment': 'bench' });
  const scope = { name: 'bench', version: '1.0.0' };
  const now = Date.now();
  const hr = (ms) => [Math.floor(ms / 1000), (ms % 1000) * 1e6];
  const names = ['cognitive.run', 'cognitive.think', 'llm.generate', 'tool.invoke', 'llm.generate', 'tool.invoke', 'cognitive.tool_call', 'event.emit'];
  const mixed = args.mix === '1';
  let spanNumber = 0;

  // One batch of Loom-shaped traces; each export gives them fresh trace ids so the store sees new traces.
  const batch = () => {
    const spans = [];
    for (let t = 0; t < TRACES_PER_BATCH; t++) {
      const traceId = randomBytes(16).toString('hex');
      const rootId = randomBytes(8).toString('hex');
      for (let s = 0; s < SPANS_PER_TRACE; s++) {
        const spanId = s === 0 ? rootId : randomBytes(8).toString('hex');
        const start = now + s * 3;
        spanNumber++;
        const attributes = { 'agent.id': 'agent-1', 'llm.model': 'gpt-4o', 'llm.tokens.total': 512 + s, 'tool.name': 'search' };
        // Mixed sizes: the first llm.generate of each trace carries a 32 KiB prompt; now and then a 1 MiB name.
        if (mixed && s === 2) attributes['llm.prompt'] = `${spanNumber} ${PROMPT}`;
        const hugeName = mixed && spanNumber % 20_000 === 0;
        spans.push({
          name: hugeName ? `${spanNumber}${HUGE_NAME}` : names[s],
          kind: s === 0 ? 2 : 0,
          spanContext: () => ({ traceId, spanId, traceFlags: 1 }),
          parentSpanContext: s === 0 ? undefined : { traceId, spanId: rootId, traceFlags: 1 },
          startTime: hr(start),
          endTime: hr(start + 2 + s),
          duration: hr(2 + s),
          status: { code: s === 3 ? 2 : 0, ...(s === 3 ? { message: 'tool failed' } : {}) },
          attributes,
          links: [],
          events: [],
          ended: true,
          resource,
          instrumentationScope: scope,
          droppedAttributesCount: 0,
          droppedEventsCount: 0,
          droppedLinksCount: 0,
        });
      }
    }
    return spans;
  };
  const total = Number(args.spans);
  const progressEvery = Number(args.progress ?? 0);
  let sent = 0;
  let done = 0;
  let failures = 0;
  let nextProgress = progressEvery;
  const started = process.hrtime.bigint();
  await new Promise((resolve) => {
    const sendOne = () => {
      if (sent >= total) return;
      const spans = batch();
      sent += spans.length;
      exporter.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS) failures++;
        done += spans.length;
        if (progressEvery && done >= nextProgress) {
          console.log(JSON.stringify({ progress: done }));
          nextProgress += progressEvery;
        }
        if (done >= total) resolve();
        else sendOne();
      });
    };
    for (let i = 0; i < IN_FLIGHT; i++) sendOne();
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await exporter.shutdown();
  console.log(JSON.stringify({ spans: done, seconds, failures }));
}

// ---------------------------------------------------------------- baseline server (child process)
async function runBaseline() {
  const grpc = await import('@grpc/grpc-js');
  const identity = (b) => b;
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
  server.addService(
    {
      Export: {
        path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    { Export: (_call, callback) => callback(null, Buffer.alloc(0)) },
  );
  const grpcPort = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const httpServer = http.createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/x-protobuf', 'Content-Length': 0 });
      res.end();
    });
  });
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  console.log(JSON.stringify({ otlpGrpc: grpcPort, otlpHttp: httpServer.address().port }));
  process.once('SIGTERM', () => {
    server.forceShutdown();
    httpServer.close();
    httpServer.closeAllConnections();
  });
}

// ---------------------------------------------------------------- orchestration
/** Spawns a node process and resolves with it and a reader of its JSON stdout lines. */
function start(nodeArgs) {
  const child = spawn(process.execPath, nodeArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const queue = [];
  const waiters = [];
  lines.on('line', (line) => {
    if (!line.startsWith('{')) return;
    const value = JSON.parse(line);
    const waiter = waiters.shift();
    if (waiter) waiter(value);
    else queue.push(value);
  });
  const next = () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiters.push(resolve)));
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
  return { child, next, stop };
}

function startReceiver(...flags) {
  const receiver = start([
    BIN, 'up', '--local', '--json', '--quiet', ...flags,
    '--otlp-grpc-port', '0', '--otlp-http-port', '0', '--jaeger-port', '0', '--metrics-port', '0', '--health-port', '0',
  ]);
  return receiver.next().then((listening) => ({ ...receiver, ports: listening.ports }));
}

async function load(protocol, port, spans, progress = 0, onProgress = () => {}, mix = false) {
  const loader = start([here, '--role=load', `--protocol=${protocol}`, `--url=http://127.0.0.1:${port}`, `--spans=${spans}`, `--progress=${progress}`, `--mix=${mix ? 1 : 0}`]);
  children.push(loader.child);
  for (;;) {
    const line = await loader.next();
    if ('progress' in line) onProgress(line.progress);
    else {
      await loader.stop();
      if (line.failures > 0) throw new Error(`${line.failures} exports failed against port ${port} (${protocol})`);
      return line.spans / line.seconds;
    }
  }
}

/** Resident and peak resident set of a process, in MiB (Linux /proc). */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const fmt = (n) => Math.round(n).toLocaleString('en-US');

const children = [];
process.on('exit', () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));

async function main() {
  if (!('memory-only' in args)) await throughput();
  await memoryRun();
}

async function throughput() {
  const receiver = await startReceiver();
  const baseline = start([here, '--role=baseline']);
  children.push(receiver.child, baseline.child);
  const baselinePorts = await baseline.next();

  console.log(`Throughput: ${fmt(THROUGHPUT_SPANS)} spans per run (${TRACES_PER_BATCH * SPANS_PER_TRACE} per export, ${IN_FLIGHT} in flight), median of ${ROUNDS} runs`);
  for (const [protocol, role] of [['grpc', 'otlpGrpc'], ['http', 'otlpHttp']]) {
    const ours = [];
    const bare = [];
    for (let round = 0; round < ROUNDS; round++) {
      bare.push(await load(protocol, baselinePorts[role], THROUGHPUT_SPANS));
      ours.push(await load(protocol, receiver.ports[role], THROUGHPUT_SPANS));
    }
    const label = protocol === 'grpc' ? 'OTLP/gRPC         ' : 'OTLP/HTTP protobuf';
    console.log(
      `  ${label}  up --local ${fmt(median(ours)).padStart(9)} spans/s   bare ack server ${fmt(median(bare)).padStart(9)} spans/s   ratio ${(median(ours) / median(bare)).toFixed(2)}`,
    );
  }
  await baseline.stop();
  await receiver.stop();
}

async function memoryRun() {
  const receiver2 = await startReceiver('--max-memory-mib', String(BUDGET_MIB));
  children.push(receiver2.child);
  const pid = receiver2.child.pid;
  const started = memory(pid);
  let peak = started.rss;
  const sampler = setInterval(() => (peak = Math.max(peak, memory(pid).rss)), 200);
  const loadStarted = Date.now();
  await load('grpc', receiver2.ports.otlpGrpc, MEMORY_SPANS, 0, () => {}, true);
  const loadSeconds = (Date.now() - loadStarted) / 1000;
  clearInterval(sampler);
  const end = memory(pid);
  peak = Math.max(peak, end.peak);
  const metrics = await fetch(`http://127.0.0.1:${receiver2.ports.collectorMetrics}/metrics`);
  const exposition = await metrics.text();
  const promtool = checkExposition(exposition);
  await receiver2.stop();
  console.log(
    `Memory: ${fmt(MEMORY_SPANS)} spans over gRPC into up --local (--max-memory-mib ${BUDGET_MIB}) in ${loadSeconds.toFixed(0)} s;`,
  );
  console.log('  one span in 8 carries a 32 KiB attribute, one in 20,000 a 1 MiB name');
  console.log(`  RSS at start ${started.rss.toFixed(0)} MiB, at the end ${end.rss.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB`);
  console.log(`  peak RSS / budget: ${(peak / BUDGET_MIB).toFixed(2)}   (peak RSS - RSS at start) / budget: ${((peak - started.rss) / BUDGET_MIB).toFixed(2)}`);
  console.log(`  /metrics: HTTP ${metrics.status}, ${fmt(exposition.length)} characters; promtool check metrics: ${promtool}`);
}

/**
 * `promtool check metrics` on an exposition: "parses" (with its naming lints, if any), the parse error, or
 * why it did not run. Its only lint here is the spanmetrics contract's `_milliseconds` unit, as the collector names it.
 */
function checkExposition(text) {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) return `not run (${result.error.code === 'ENOENT' ? 'promtool is not installed' : result.error.message})`;
  const output = `${result.stdout}${result.stderr}`.trim();
  if (output.includes('parsing error')) return `INVALID: ${output.split('\n')[0]}`;
  const lints = new Set(output.split('\n').filter(Boolean).map((l) => l.replace(/^\S+ /, '')));
  return `parses${lints.size ? ` (lints: ${[...lints].join('; ')})` : ''}`;
}

if (args.role === 'load') await runLoad();
else if (args.role === 'baseline') await runBaseline();
else await main();
