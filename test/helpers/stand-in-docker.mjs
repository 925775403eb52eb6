// A stand-in for `docker`, `docker-compose` and `podman` in tests (no container engine runs here).
// It records every invocation as one JSON line in $STANDIN_LOG and answers the way the real tools do,
// failing on demand. Which tool it plays is $STANDIN_NAME (set by its wrapper script).
//
//   STANDIN_COMPOSE=absent        `docker compose` / `podman compose` has no Compose (plugin or provider missing)
//   STANDIN_COMPOSE_VERSION=v     version printed by `... compose version` / `docker-compose version`
//   STANDIN_DAEMON=down|denied    `info` and compose commands cannot reach the daemon
//   STANDIN_UP=pull-failure|port-allocated   how `compose up -d` fails (default: it succeeds)
//   STANDIN_UP_PORT=n             the port named by port-allocated
//   STANDIN_PS, STANDIN_PS_AFTER_UP   stdout of `compose ps` before / after an `up` was recorded
//   STANDIN_LOGS                  the log lines `compose logs` prints for any service
//   STANDIN_PUBLISHERS            JSON {"port": "container name"} answered by `ps --filter publish=port`
//   STANDIN_HANG=compose-version|info   that command never answers (a stuck engine), until it is killed
import { appendFileSync, readFileSync } from 'node:fs';

const name = process.env.STANDIN_NAME ?? 'docker';
const args = process.argv.slice(2);
const env = process.env;
if (env.STANDIN_LOG) appendFileSync(env.STANDIN_LOG, `${JSON.stringify({ name, args })}\n`);

/** Keeps the process alive without answering, as a stuck engine does; the caller must kill it. */
const hang = () => setInterval(() => undefined, 60_000);

const out = (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
const fail = (text, code = 1) => {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  process.exit(code);
};

const DAEMON_DOWN =
  name === 'podman'
    ? 'Error: Cannot connect to Podman. Please verify your connection to the Linux system using `podman system connection list`, or try `podman machine init` and `podman machine start` to manage a new Linux VM'
    : 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?';
const DENIED =
  'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.47/info": dial unix /var/run/docker.sock: connect: permission denied';

function daemonCheck() {
  if (env.STANDIN_DAEMON === 'down') fail(DAEMON_DOWN);
  if (env.STANDIN_DAEMON === 'denied') fail(DENIED);
}

function upWasRun() {
  if (!env.STANDIN_LOG) return false;
  return readFileSync(env.STANDIN_LOG, 'utf8')
    .split('\n')
    .filter(Boolean)
    .some((line) => {
      const call = JSON.parse(line);
      return call.args.includes('up') && call.args.includes('-d');
    });
}

/** Compose subcommands, after the global flags (-f FILE --project-directory DIR). */
function compose(rest) {
  const globals = [];
  while (rest[0] === '-f' || rest[0] === '--project-directory' || rest[0] === '-p') globals.push(rest.shift(), rest.shift());
  const [command, ...options] = rest;
  if (command === 'version') {
    if (env.STANDIN_HANG === 'compose-version') return hang();
    if (env.STANDIN_COMPOSE === 'absent' && name !== 'docker-compose') {
      if (name === 'podman') fail('Error: looking up compose provider failed\n7 errors occurred:\n\t* exec: "docker-compose": executable file not found in $PATH');
      fail("docker: unknown command: docker compose\n\nRun 'docker --help' for more information");
    }
    const version = env.STANDIN_COMPOSE_VERSION ?? '2.29.1';
    out(version.startsWith('1.') ? `docker-compose version ${version}, build unknown` : `Docker Compose version v${version}`);
    return;
  }
  daemonCheck();
  switch (command) {
    case 'up': {
      process.stderr.write(' Network loom_default  Creating\n Network loom_default  Created\n');
      if (env.STANDIN_UP === 'pull-failure') {
        fail(
          '[+] Running 0/4\n ✘ otel-collector Error Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 127.0.0.53:53: server misbehaving   10.1s\n' +
            'Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 127.0.0.53:53: server misbehaving',
          18,
        );
      }
      if (env.STANDIN_UP === 'port-allocated') {
        const port = env.STANDIN_UP_PORT ?? '16686';
        fail(
          name === 'podman'
            ? `Error: unable to start container "3f2a": rootlessport listen tcp 127.0.0.1:${port}: bind: address already in use`
            : `Error response from daemon: driver failed programming external connectivity on endpoint loom-jaeger-1 (3f2a9c): Bind for 127.0.0.1:${port} failed: port is already allocated`,
        );
      }
      process.stderr.write(' Container loom-otel-collector-1  Started\n');
      return;
    }
    case 'ps': {
      const text = upWasRun() && env.STANDIN_PS_AFTER_UP !== undefined ? env.STANDIN_PS_AFTER_UP : (env.STANDIN_PS ?? '');
      if (text) out(text);
      return;
    }
    case 'logs': {
      const service = options[options.length - 1];
      for (const line of (env.STANDIN_LOGS ?? '').split('\n').filter(Boolean)) out(`${service}-1  | ${line}`);
      return;
    }
    case 'down':
      process.stderr.write(' Container loom-otel-collector-1  Removed\n');
      return;
    default:
      fail(`stand-in: unknown compose command ${command} (${globals.join(' ')})`);
  }
}

if (name === 'docker-compose') {
  compose(args);
} else if (args[0] === 'compose') {
  compose(args.slice(1));
} else if (args[0] === 'info') {
  if (env.STANDIN_HANG === 'info') hang();
  else {
    daemonCheck();
    out(name === 'podman' ? 'host:\n  arch: amd64\nversion:\n  Version: 5.2.2' : 'Client:\n Version: 27.3.1\nServer:\n Server Version: 27.3.1');
  }
} else if (args[0] === 'ps') {
  daemonCheck();
  const publish = args.find((a) => a.startsWith('publish='))?.slice('publish='.length);
  const publishers = JSON.parse(env.STANDIN_PUBLISHERS ?? '{}');
  if (publish && publishers[publish]) out(publishers[publish]);
} else {
  fail(`stand-in ${name}: unknown command ${args.join(' ')}`);
}
