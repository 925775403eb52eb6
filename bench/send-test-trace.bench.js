// send-test-trace against hand-written OTel JS baselines, measured in the same run against the same
// loopback OTLP/gRPC receiver (a minimal grpc-js server in this process that acks every Export):
//   1. wall time of `loom-otel send-test-trace --no-verify` vs a minimal script sending one span
//      (NodeTracerProvider + SimpleSpanProcessor + OTLP gRPC exporter)       target ratio <= 1.1
//   2. load-mode spans/s vs a BatchSpanProcessor loop sending the same Loom traces, same batch size
//      (512) and one export in flight                                          target ratio >= 0.9
//      (both measured from the first span to the last export acknowledged)
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const grpc = require('@grpc/grpc-js');

// The CLI's trace builder for the baseline loop. dist/ is one bundle, so compile the module alone; its
// libraries stay imports, resolved from this repository's node_modules like the baseline's own.
const traceBuilder = path.join(root, 'node_modules/.cache/loom-otel-bench/loom-trace.js');
await build({ entryPoints: [path.join(root, 'src/trace/loom-trace.ts')], outfile: traceBuilder, bundle: true, packages: 'external', format: 'esm', platform: 'node', logLevel: 'warning' });

const WALL_RUNS = 9;
const LOAD_RUNS = 5;
const LOAD_TRACES = 10000;

async function startReceiver() {
  const server = new grpc.Server();
  let requests = 0;
  const raw = (buffer) => buffer;
  server.addService(
    {
      Export: {
        path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
        requestStream: false,
        responseStream: false,
        requestSerialize: raw,
        requestDeserialize: raw,
        responseSerialize: raw,
        responseDeserialize: raw,
      },
    },
    {
      Export: (_call, callback) => {
        requests += 1;
        callback(null, Buffer.alloc(0));
      },
    },
  );
  const port = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return { url: `http://127.0.0.1:${port}`, requests: () => requests, stop: () => server.forceShutdown() };
}

// The minimal script a user would write to send one span.
const ONE_SPAN_SCRIPT = `
import { NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
const exporter = new OTLPTraceExporter({ url: process.argv[1] });
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'baseline' }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
provider.getTracer('baseline').startSpan('one').end();
await provider.shutdown();
`;

// A BatchSpanProcessor loop over the very same spans: the same number of Loom traces, built by the same
// trace builder (src/trace/loom-trace.ts, compiled here on its own), handed to the SDK's BatchSpanProcessor as the tracer would hand
// them (onEnd), 512-span batches, a queue large enough that nothing is dropped. It yields to the event loop
// after each trace, as an application producing spans does, and then lets the processor drain its queue
// the way it does while an application runs: one batch export at a time (no forceFlush, which would send
// the backlog in parallel). So the two differ only in how spans are delivered. Counts the spans the
// exporter reports delivered, and the peak of exports in flight.
const BSP_LOOP_SCRIPT = `
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { createLoomTraceFactory } from '${pathToFileURL(traceBuilder).href}';
const [url, traces] = [process.argv[1], Number(process.argv[2])];
const factory = createLoomTraceFactory({ service: 'loom-test-agent', version: 'bench', environment: 'bench' });
const total = traces * factory.spansPerTrace;
const exporter = new OTLPTraceExporter({ url });
let delivered = 0;
let settled = 0;
let allSettled;
const drained = new Promise((resolve) => (allSettled = resolve));
let inFlight = 0;
let peakInFlight = 0;
const counting = {
  export: (spans, done) => {
    peakInFlight = Math.max(peakInFlight, ++inFlight);
    exporter.export(spans, (result) => {
      inFlight -= 1;
      if (result.code === 0) delivered += spans.length;
      settled += spans.length;
      if (settled === total) allSettled();
      done(result);
    });
  },
  shutdown: () => exporter.shutdown(),
  forceFlush: () => exporter.forceFlush(),
};
const processor = new BatchSpanProcessor(counting, { maxExportBatchSize: 512, maxQueueSize: total, scheduledDelayMillis: 1 });
const started = performance.now();
for (let i = 0; i < traces; i++) {
  for (const span of factory.build().spans) processor.onEnd(span);
  await new Promise((resolve) => setImmediate(resolve));
}
// The processor's timer is unref'd; an application would be keeping the process alive meanwhile.
const keepAlive = setInterval(() => {}, 1000);
await drained;
clearInterval(keepAlive);
const seconds = (performance.now() - started) / 1000;
await processor.shutdown();
console.log(JSON.stringify({ spans: delivered, seconds, spansPerSecond: delivered / seconds, peakInFlight }));
`;

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

// Asynchronous on purpose: the receiver runs in this process and must keep answering.
const run = promisify(execFile);
async function timed(args) {
  const started = performance.now();
  const { stdout } = await run(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { ms: performance.now() - started, stdout };
}

const cli = path.join(root, 'bin/loom-otel.js');
const receiver = await startReceiver();
try {
  // Warm the file system cache for both before measuring.
  await timed([cli, 'send-test-trace', '--no-verify', '--endpoint', receiver.url]);
  await timed(['--input-type=module', '-e', ONE_SPAN_SCRIPT, receiver.url]);

  const ours = [];
  const baseline = [];
  for (let i = 0; i < WALL_RUNS; i++) {
    ours.push((await timed([cli, 'send-test-trace', '--no-verify', '--endpoint', receiver.url])).ms);
    baseline.push((await timed(['--input-type=module', '-e', ONE_SPAN_SCRIPT, receiver.url])).ms);
  }
  const wallRatio = median(ours) / median(baseline);
  console.log(`single trace, wall time (median of ${WALL_RUNS}):`);
  console.log(`  send-test-trace --no-verify (15 spans)  ${median(ours).toFixed(0)} ms`);
  console.log(`  hand-written one-span script            ${median(baseline).toFixed(0)} ms`);
  console.log(`  ratio ${wallRatio.toFixed(2)} (target <= 1.1) ${wallRatio <= 1.1 ? 'OK' : 'OVER TARGET'}`);

  const loadOurs = [];
  const loadBaseline = [];
  let peak = 0;
  for (let i = 0; i < LOAD_RUNS; i++) {
    const load = JSON.parse(
      (await timed([cli, '--json', 'send-test-trace', '--endpoint', receiver.url, '--count', String(LOAD_TRACES), '--concurrency', '1'])).stdout,
    );
    if (load.failedExports > 0) throw new Error(`load mode had ${load.failedExports} failed exports`);
    loadOurs.push(load.spansPerSecond);
    const spans = LOAD_TRACES * load.spansPerTrace;
    const base = JSON.parse((await timed(['--input-type=module', '-e', BSP_LOOP_SCRIPT, receiver.url, String(LOAD_TRACES)])).stdout);
    if (base.spans !== spans) throw new Error(`the BatchSpanProcessor loop delivered ${base.spans} of ${spans} spans`);
    loadBaseline.push(base.spansPerSecond);
    peak = Math.max(peak, base.peakInFlight);
  }
  const loadRatio = median(loadOurs) / median(loadBaseline);
  const samples = (values) => values.map((v) => Math.round(v / 1000)).join(' ');
  console.log(`load mode, ${LOAD_TRACES} traces, 1 export in flight (median of ${LOAD_RUNS}):`);
  console.log(`  send-test-trace --count ${LOAD_TRACES}        ${median(loadOurs).toFixed(0)} spans/s`);
  console.log(`  BatchSpanProcessor loop                 ${median(loadBaseline).toFixed(0)} spans/s (peak ${peak} export${peak === 1 ? '' : 's'} in flight)`);
  console.log(`  samples (k spans/s): ours ${samples(loadOurs)}; baseline ${samples(loadBaseline)}`);
  console.log(`  ratio ${loadRatio.toFixed(2)} (target >= 0.9) ${loadRatio >= 0.9 ? 'OK' : 'UNDER TARGET'}`);
  console.log(`  receiver answered ${receiver.requests()} export requests in all`);
} finally {
  receiver.stop();
}
