// Benchmark of `loom-otel doctor` (the built CLI, dist/), measured in one run:
//   1. wall time against a healthy local endpoint (the real `up --local`, random ports), over gRPC and
//      OTLP/HTTP, as a ratio to `loom-otel --version` (the CLI's bare start-up, same run)
//   2. wall time against a blackholed endpoint (a listener that accepts and never answers), as a ratio
//      to --timeout: every check is bounded by it and they run at the same time, so the run takes one
//      timeout plus a fixed start-up cost. Target <= 1.2 at the default --timeout (3 s); the 1 s run
//      shows the fixed cost (node start-up included) against a short timeout.
//
//   node bench/doctor.bench.js            (or: npm run bench -- doctor)
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'loom-otel.js');
const RUNS = 7;
const BLACKHOLE_TIMEOUTS_S = [1, 3];
const DEFAULT_TIMEOUT_S = 3;

// Only what the CLI would see on a clean machine: no OTEL_* from the caller.
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('OTEL_') && key !== 'CI'));
env.OTEL_SERVICE_NAME = 'bench-agent';
// No stack here: doctor checks the endpoint and the environment (the engine group needs a stack).
const emptyDir = mkdtempSync(path.join(tmpdir(), 'loom-otel-doctor-bench-'));

function timeCli(args) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    execFile(process.execPath, [BIN, ...args], { env }, (error, stdout) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // doctor exits 1 when a check fails: expected for the blackhole.
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ ms, code: error ? error.code : 0, stdout });
    });
  });
}

async function median(args, expectCode) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const { ms, code, stdout } = await timeCli(args);
    if (expectCode !== undefined && code !== expectCode) throw new Error(`loom-otel ${args.join(' ')} exited ${code}, expected ${expectCode}:\n${stdout}`);
    times.push(ms);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function startLocal() {
  const zero = ['--otlp-grpc-port', '0', '--otlp-http-port', '0', '--jaeger-port', '0', '--metrics-port', '0', '--health-port', '0'];
  const child = spawn(process.execPath, [BIN, 'up', '--local', '--json', '--quiet', ...zero], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const first = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`up --local exited ${code} before listening`)));
  });
  const event = JSON.parse(first);
  if (event.event !== 'listening') throw new Error(`unexpected first line of up --local: ${first}`);
  return { ports: event.ports, stop: () => new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM'))) };
}

function startBlackhole() {
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: server.address().port,
        stop: () => new Promise((done) => (sockets.forEach((s) => s.destroy()), server.close(done))),
      }),
    ),
  );
}

const fmt = (ms) => `${ms.toFixed(0)} ms`;
const common = ['doctor', '--dir', emptyDir, '--no-in-container'];

const baseline = await median(['--version'], 0);
console.log(`baseline: loom-otel --version                     median ${fmt(baseline)} (${RUNS} runs)`);

const local = await startLocal();
try {
  const grpc = await median([...common, '--endpoint', `http://127.0.0.1:${local.ports.otlpGrpc}`], 0);
  console.log(`doctor, healthy up --local over gRPC              median ${fmt(grpc)}  ratio to start-up ${(grpc / baseline).toFixed(2)}`);
  const otlpHttp = await median([...common, '--endpoint', `http://127.0.0.1:${local.ports.otlpHttp}`, '--protocol', 'http/protobuf'], 0);
  console.log(`doctor, healthy up --local over OTLP/HTTP         median ${fmt(otlpHttp)}  ratio to start-up ${(otlpHttp / baseline).toFixed(2)}`);
} finally {
  await local.stop();
}

const blackhole = await startBlackhole();
try {
  for (const seconds of BLACKHOLE_TIMEOUTS_S) {
    const wall = await median([...common, '--endpoint', `http://127.0.0.1:${blackhole.port}`, '--timeout', String(seconds)], 1);
    const ratio = wall / (seconds * 1000);
    const verdict = seconds === DEFAULT_TIMEOUT_S ? ` (target <= 1.2: ${ratio <= 1.2 ? 'ok' : 'OVER TARGET'})` : '';
    console.log(`doctor, blackholed endpoint, --timeout ${seconds}         median ${fmt(wall)}  ratio to timeout ${ratio.toFixed(2)}${verdict}; beyond the timeout ${fmt(wall - seconds * 1000)} (start-up ${fmt(baseline)})`);
  }
} finally {
  await blackhole.stop();
  rmSync(emptyDir, { recursive: true, force: true });
}
