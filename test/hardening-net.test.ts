/**
 * Hostile and broken peers against `doctor` and `send-test-trace`, as a user meets them (issue 9): peers
 * that trickle, never answer or half-close must not outlast --timeout; credentials in URLs, queries and
 * echoed headers never reach the output; a peer's control characters are shown, never obeyed; and both
 * commands name the same cause for the same wrong server. Every server is a real loopback socket on port 0.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { runCli, tempDir, type CliRun } from './helpers/cli.js';
import { requireTool } from './helpers/validators.js';
import { collectorExited, initStack, installStandIn } from './helpers/stand-in-docker.js';
import { http1Server, http2Server, selfSignedCertificate, silentServer, stopAll, tlsServer, track } from './doctor-servers.js';

afterEach(stopAll);

const PROTOCOLS = ['grpc', 'http/protobuf', 'http/json'] as const;
/** What a user sees: both streams. */
const seen = (run: CliRun) => `${run.stdout}\n${run.stderr}`;
const ESC = '\u001b';
/** Loose bound for "finished within --timeout plus a small margin" on a loaded CI machine; before the fix these ran for ever. */
const LOOSE_MS = 20_000;

const NO_STACK = '/nonexistent-loom-otel-stack';

/** `doctor` without a stack, or `send-test-trace` without verification, against the same endpoint flags. */
function probeWith(command: string, args: string[]): Promise<CliRun> {
  return runCli(command === 'doctor' ? ['doctor', ...args, '--dir', NO_STACK] : ['send-test-trace', ...args, '--no-verify']);
}

async function timed(args: string[]): Promise<CliRun & { ms: number }> {
  const started = Date.now();
  const run = await runCli(args, { timeout: 90_000 });
  return { ...run, ms: Date.now() - started };
}

/** Answers every connection with an HTTP response, one byte a second, for ever. */
function tricklingServer(): Promise<number> {
  return track(
    net.createServer((socket) => {
      socket.on('data', () => undefined);
      const text = `HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(1000)}`;
      let at = 0;
      const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write(text[at++ % text.length] ?? 'x')), 1000);
      socket.on('close', () => clearInterval(timer));
    }),
  );
}

/** Closes its sending side at once and keeps reading: the client's request is never answered. */
function halfOpenServer(): Promise<number> {
  return track(
    net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.on('data', () => undefined);
      socket.end();
    }),
  );
}

/** Greets like sshd, then waits. */
function sshServer(): Promise<number> {
  return track(net.createServer((socket) => socket.write('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n')));
}

/** Answers 401 with a body that echoes the request headers, and control sequences. */
function echoingServer(): Promise<number> {
  return track(
    http.createServer((req, res) => {
      req.resume();
      const echoed = Object.entries(req.headers).map(([name, value]) => `${name}: ${String(value)}`).join('\n');
      res.writeHead(401, { 'content-type': 'text/plain' }).end(`denied ${ESC}]0;pwned\u0007${ESC}[2J${ESC}]52;c;ZXZpbA==\u0007\n${echoed}`);
    }),
  );
}

/** Plaintext HTTP/2 answering every stream like a gRPC server refusing it, with a hostile status message. */
function grpcRefusingServer(): Promise<number> {
  const server = http2.createServer();
  server.on('stream', (stream) => {
    stream.on('data', () => undefined);
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': encodeURIComponent(`bad token ${ESC}]0;pwned\u0007 ${ESC}[2J please`) }, { endStream: true });
  });
  return track(server);
}

/** An OTLP/HTTP receiver that takes every export. */
function acceptingReceiver(): Promise<number> {
  return track(http.createServer((req, res) => req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end())));
}

/** A Jaeger query API whose every trace has span and service names full of control sequences. */
function hostileJaeger(): Promise<number> {
  return track(
    http.createServer((req, res) => {
      req.resume();
      const span = { spanID: '0000000000000001', operationName: `${ESC}]0;retitled\u0007${ESC}[2Jllm.generate\u009b2J`, references: [], startTime: Date.now() * 1000, duration: 1000, tags: [], processID: 'p1' };
      const trace = { traceID: req.url?.split('/').pop() ?? '', spans: [span], processes: { p1: { serviceName: `${ESC}]52;c;ZXZpbA==\u0007svc`, tags: [] } } };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: [trace] }));
    }),
  );
}

/** Python's own http.server (what `python3 -m http.server` runs), on a port of its choosing. */
async function pythonHttpServer(): Promise<number> {
  const { dir, cleanup } = await tempDir();
  const child = spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const found = /port (\d+)/.exec(text);
      if (found) resolve(Number(found[1]));
    });
    child.once('exit', (code) => reject(new Error(`python3 -m http.server exited with ${code}`)));
  });
  // Registered through a server that owns nothing, so stopAll() ends the child too.
  const keeper = net.createServer();
  keeper.on('close', () => {
    child.kill();
    void cleanup();
  });
  await track(keeper);
  return port;
}

describe('every export and probe has an overall deadline', () => {
  for (const [name, server] of [
    ['trickles one byte a second', tricklingServer],
    ['never answers', silentServer],
    ['half-closes the connection', halfOpenServer],
  ] as const) {
    it.each(PROTOCOLS)(`send-test-trace --protocol %s ends within --timeout when the peer ${name}`, async (protocol) => {
      const port = await server();
      const run = await timed(['send-test-trace', '--endpoint', `http://127.0.0.1:${port}`, '--protocol', protocol, '--timeout', '1', '--no-verify']);
      expect(run.exitCode, seen(run)).toBe(1);
      expect(run.stderr).toMatch(/Export to .* failed: /);
      expect(run.ms).toBeLessThan(LOOSE_MS);
    }, 90_000);

    it.each(PROTOCOLS)(`doctor --protocol %s ends within --timeout when the peer ${name}`, async (protocol) => {
      const port = await server();
      const run = await timed(['doctor', '--json', '--endpoint', `http://127.0.0.1:${port}`, '--protocol', protocol, '--timeout', '1', '--dir', NO_STACK]);
      const report = JSON.parse(run.stdout) as { probe: { ok: boolean; failure: { cause: string } } };
      expect(report.probe.ok).toBe(false);
      expect(run.exitCode).toBe(1);
      expect(run.ms).toBeLessThan(LOOSE_MS);
    }, 90_000);
  }

  it.each(PROTOCOLS)('send-test-trace --protocol %s ends within --timeout when a TLS handshake is never answered', async (protocol) => {
    const port = await silentServer();
    const run = await timed(['send-test-trace', '--endpoint', `https://127.0.0.1:${port}`, '--protocol', protocol, '--timeout', '1', '--no-verify']);
    expect(run.exitCode, seen(run)).toBe(1);
    expect(run.stderr).toMatch(/no (complete )?answer within 1000 ms/);
    expect(run.ms).toBeLessThan(LOOSE_MS);
  }, 90_000);

  it('a Jaeger that trickles is given up on within --wait', async () => {
    const [receiver, jaeger] = await Promise.all([acceptingReceiver(), tricklingServer()]);
    const run = await timed(['send-test-trace', '--endpoint', `http://127.0.0.1:${receiver}`, '--protocol', 'http/protobuf', '--timeout', '1', '--jaeger-url', `http://127.0.0.1:${jaeger}`, '--wait', '2']);
    expect(run.exitCode, seen(run)).toBe(3);
    expect(run.stdout).toMatch(/Jaeger .*0\/15 spans/);
    expect(run.ms).toBeLessThan(LOOSE_MS);
  }, 90_000);

  it('the check before the export waits for a Prometheus that never answers no longer than --timeout', async () => {
    // Each connection's life, as the Prometheus that never answers sees it: the first is the check before the export.
    const connections: Array<{ opened: number; closed?: number }> = [];
    const prometheus = await track(
      net.createServer((socket) => {
        const connection: { opened: number; closed?: number } = { opened: Date.now() };
        connections.push(connection);
        socket.on('data', () => undefined);
        socket.on('close', () => (connection.closed = Date.now()));
      }),
    );
    const [receiver, jaeger] = await Promise.all([acceptingReceiver(), silentServer()]);
    const args = ['--endpoint', `http://127.0.0.1:${receiver}`, '--protocol', 'http/protobuf', '--jaeger-url', `http://127.0.0.1:${jaeger}`, '--prometheus-url', `http://127.0.0.1:${prometheus}`];
    const run = await timed(['send-test-trace', ...args, '--timeout', '1', '--wait', '1']);
    expect(run.exitCode, seen(run)).toBe(3);
    expect(run.stdout).toMatch(/Prometheus .*no answer in time/);
    const [check] = connections;
    // The check gave up after --timeout (1 s); its fixed limit is 5 s. Everything after it is bounded by --wait.
    expect(check!.closed! - check!.opened).toBeLessThan(3_000);
    expect(Math.max(...connections.map((c) => c.closed ?? Date.now())) - check!.opened).toBeLessThan(1_000 + 1_000 + 3_000);
    expect(run.ms).toBeLessThan(LOOSE_MS);
  }, 90_000);
});

describe('credentials are never printed', () => {
  it('doctor masks URL userinfo and secret query values, in text and JSON', async () => {
    const port = await http1Server(404);
    const endpoint = `http://agent:PASSWORD123@127.0.0.1:${port}/v1/traces?api_key=QUERYSECRET&region=eu`;
    for (const json of [false, true]) {
      const run = await runCli(['doctor', ...(json ? ['--json'] : []), '--endpoint', endpoint, '--protocol', 'http/protobuf', '--timeout', '2', '--dir', NO_STACK]);
      expect(seen(run)).not.toMatch(/PASSWORD123|QUERYSECRET/);
      expect(seen(run)).toContain(`http://***@127.0.0.1:${port}/v1/traces?api_key=***&region=eu`);
    }
  }, 60_000);

  it('send-test-trace masks them in its error', async () => {
    const port = await silentServer();
    const run = await runCli(['send-test-trace', '--endpoint', `http://agent:PASSWORD123@127.0.0.1:${port}/?token=QUERYSECRET`, '--protocol', 'http/json', '--timeout', '1', '--no-verify']);
    expect(run.exitCode).toBe(1);
    expect(seen(run)).not.toMatch(/PASSWORD123|QUERYSECRET/);
    expect(run.stderr).toContain('token=***');
  }, 60_000);

  it.each(['doctor', 'send-test-trace'])('%s removes the header values it sent from a 401 body that echoes them', async (command) => {
    const port = await echoingServer();
    const args = ['--endpoint', `http://127.0.0.1:${port}`, '--protocol', 'http/protobuf', '--header', 'authorization=Bearer%20TOPSECRETTOKEN42', '--timeout', '2'];
    const run = await probeWith(command, args);
    expect(run.exitCode).toBe(1);
    expect(seen(run)).toContain('401');
    expect(seen(run)).toContain('authorization: ***');
    expect(seen(run)).not.toContain('TOPSECRETTOKEN42');
  }, 60_000);
});

it('up masks credentials and escapes control characters in a container log it shows (stand-in docker)', async () => {
  const root = await tempDir();
  try {
    const stackDir = `${root.dir}/observability`;
    await initStack(stackDir);
    const docker = await installStandIn(root.dir, ['docker']);
    const exited = collectorExited();
    const log = `Error: exporting to https://agent:LOGSECRET@otlp.example.com:4317/?api_key=KEYSECRET failed ${ESC}]0;pwned\u0007${ESC}[2J`;
    const run = await runCli(['up', '--dir', stackDir, '--timeout', '30'], { env: docker.env({ STANDIN_PS_AFTER_UP: exited, STANDIN_LOGS: log }) });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('otel-collector-1  | Error: exporting to https://***@otlp.example.com:4317/?api_key=*** failed \\x1b]0;pwned\\x07\\x1b[2J');
    expect(seen(run)).not.toMatch(/LOGSECRET|KEYSECRET/);
    expect(seen(run)).not.toContain(ESC);
  } finally {
    await root.cleanup();
  }
}, 90_000);

describe("a peer's control characters are shown, never obeyed", () => {
  const assertInert = (text: string) => {
    expect(text).not.toContain(ESC);
    expect(text).not.toContain('\u0007');
    expect(text).not.toContain('\u009b');
  };

  it.each(['doctor', 'send-test-trace'])('%s escapes an HTTP body', async (command) => {
    const port = await echoingServer();
    const args = ['--endpoint', `http://127.0.0.1:${port}`, '--protocol', 'http/protobuf', '--timeout', '2'];
    const run = await probeWith(command, args);
    expect(run.exitCode).toBe(1);
    assertInert(seen(run));
    expect(seen(run)).toContain('denied \\x1b]0;pwned\\x07\\x1b[2J');
  }, 60_000);

  it.each(['doctor', 'send-test-trace'])('%s shows a gRPC status message decoded and escaped', async (command) => {
    const port = await grpcRefusingServer();
    const args = ['--endpoint', `http://127.0.0.1:${port}`, '--protocol', 'grpc', '--timeout', '2'];
    const run = await probeWith(command, args);
    expect(run.exitCode).toBe(1);
    assertInert(seen(run));
    expect(seen(run)).toContain('UNAUTHENTICATED (16): bad token \\x1b]0;pwned\\x07 \\x1b[2J please');
    expect(seen(run)).not.toContain('%1B');
  }, 60_000);

  it('send-test-trace escapes Jaeger operation and service names, in text and JSON, also with colour on', async () => {
    const [receiver, jaeger] = await Promise.all([acceptingReceiver(), hostileJaeger()]);
    const args = ['send-test-trace', '--endpoint', `http://127.0.0.1:${receiver}`, '--protocol', 'http/protobuf', '--jaeger-url', `http://127.0.0.1:${jaeger}`, '--wait', '1'];
    const text = await runCli(args, { env: { ...process.env, FORCE_COLOR: '1', NO_COLOR: undefined } });
    expect(text.exitCode, seen(text)).toBe(3);
    assertInert(seen(text).replace(/\u001b\[(?:1|2|22|31|32|33|36|39)m/g, ''));
    expect(text.stdout).toContain('\\x1b]0;retitled\\x07\\x1b[2Jllm.generate\\u009b2J');
    const json = await runCli([...args, '--json']);
    assertInert(json.stdout);
    const report = JSON.parse(json.stdout) as { trace: { spans: Array<{ name: string; service: string }> } };
    expect(report.trace.spans[0]?.name).toBe(`${ESC}]0;retitled\u0007${ESC}[2Jllm.generate\u009b2J`);
  }, 60_000);
});

describe('send-test-trace names the cause as doctor does', () => {
  const cert = selfSignedCertificate();
  afterAll(cert.cleanup);

  const both = async (port: number, protocol: (typeof PROTOCOLS)[number] = 'grpc') => {
    const endpoint = `http://127.0.0.1:${port}`;
    const [doctor, send] = await Promise.all([
      runCli(['doctor', '--json', '--endpoint', endpoint, '--protocol', protocol, '--timeout', '3', '--dir', NO_STACK]),
      runCli(['send-test-trace', '--endpoint', endpoint, '--protocol', protocol, '--timeout', '3', '--no-verify']),
    ]);
    const cause = (JSON.parse(doctor.stdout) as { probe: { failure: { cause: string } } }).probe.failure.cause;
    expect(send.exitCode, seen(send)).toBe(1);
    expect(send.stderr).toContain(cause);
    return cause;
  };

  it('plaintext to a TLS port', async () => {
    expect(await both(await tlsServer(cert))).toMatch(/Plaintext was used but .* speaks TLS/);
  }, 60_000);

  it('an HTTP/2 server that is not gRPC', async () => {
    expect(await both(await http2Server())).toMatch(/answered over HTTP\/2, but not as a gRPC server/);
  }, 60_000);

  it.each(PROTOCOLS)('an SSH server (%s)', async (protocol) => {
    expect(await both(await sshServer(), protocol)).toMatch(/speaks neither HTTP nor TLS \(it sent "SSH-2\.0-OpenSSH_9\.2p1 Debian-2\+deb12u3": an SSH server\)/);
  }, 60_000);

  it('a Node HTTP/1.1 server on the gRPC port', async () => {
    expect(await both(await http1Server(200))).toMatch(/is an HTTP\/1\.1 server, not gRPC/);
  }, 60_000);

  it('load mode names the commonest failure as doctor does', async () => {
    const port = await sshServer();
    const run = await runCli(['send-test-trace', '--endpoint', `http://127.0.0.1:${port}`, '--protocol', 'grpc', '--timeout', '3', '--count', '3']);
    expect(run.exitCode, seen(run)).toBe(1);
    expect(run.stdout).toMatch(/\d+× 127\.0\.0\.1:\d+ is not an OTLP receiver: it speaks neither HTTP nor TLS .*an SSH server/);
  }, 60_000);

  it.runIf(requireTool('python3', 'apt-get install python3'))("Python's http.server on the gRPC port (it answers the HTTP/2 preface with a 505 page)", async () => {
    expect(await both(await pythonHttpServer())).toMatch(/is an HTTP\/1\.1 server, not gRPC/);
  }, 60_000);
});
