/**
 * Turns what Docker, Compose and Podman print when they fail into one cause and one fix: the daemon is
 * not running, the socket is not ours, an image cannot be pulled, a host port is already taken.
 */
import path from 'node:path';
import { ActionError } from '../errors.js';
import { PORT_FLAGS, PORT_OWNER, type PortRole, type StackModel } from '../stack/model.js';
import type { Engine } from './engine.js';

const LOCAL_HINT = 'No Docker at hand? `loom-otel up --local` runs the stack in this process.';

/** Daemon and socket failures, which any engine command can hit. */
export function explainEngineFailure(engine: Pick<Engine, 'cli'>, output: string): ActionError | undefined {
  if (/Cannot connect to Podman|podman\.sock.*(no such file|connection refused)/i.test(output)) {
    return new ActionError(
      'Podman is installed but its service is not running (it cannot connect to Podman).',
      `Start it: \`podman machine start\` (macOS, Windows) or \`systemctl --user start podman.socket\` (Linux), then re-run. ${LOCAL_HINT}`,
    );
  }
  if (/permission denied while trying to connect to the Docker daemon/i.test(output)) {
    return new ActionError(
      'Docker is running but this user may not use it: permission denied on the Docker socket.',
      'Add yourself to the docker group (`sudo usermod -aG docker $USER`, then log out and in), or use rootless Docker or Podman.',
    );
  }
  if (/Cannot connect to the Docker daemon|Is the docker daemon running|error during connect|docker_engine.*(cannot find|not found)/i.test(output)) {
    return new ActionError(
      `The Docker engine is not running: ${engine.cli} cannot connect to the Docker daemon.`,
      `Start Docker Desktop, or on Linux \`sudo systemctl start docker\`, then re-run. ${LOCAL_HINT}`,
    );
  }
  return undefined;
}

export interface PortConflict {
  port: number;
  role: PortRole;
  /** Who holds the port, when it could be told ("node (pid 123)", "container jaeger-old"). */
  holder?: string;
}

/** The ports of the stack, by host port number. */
export function roleOfPort(model: StackModel, port: number): PortRole | undefined {
  return model.parts.flatMap((part) => part.ports).find((p) => p.host === port)?.role;
}

/** One error for every taken port: which port, which part needs it, who holds it, the flag to move it. */
export function portConflictError(model: StackModel, dir: string, conflicts: PortConflict[]): ActionError {
  const described = conflicts.map((c) => {
    const part = PORT_OWNER[c.role];
    const published = model.part(part)?.ports.find((p) => p.role === c.role);
    return `${c.port} (${part}: ${published?.description ?? c.role})${c.holder ? `, held by ${c.holder}` : ''}`;
  });
  const flags = conflicts.map((c) => `${PORT_FLAGS[c.role]} <free port>`).join(' ');
  const noun = conflicts.length === 1 ? 'Host port' : 'Host ports';
  const unknown = conflicts.find((c) => !c.holder);
  const lookup = unknown ? ` (\`sudo ss -ltnp 'sport = :${unknown.port}'\` or \`lsof -nP -iTCP:${unknown.port} -sTCP:LISTEN\` shows what holds port ${unknown.port})` : '';
  return new ActionError(
    `${noun} already taken by something else: ${described.join('; ')}.`,
    `Stop what holds ${conflicts.length === 1 ? 'it' : 'them'}${lookup}, or move the stack: \`loom-otel init --dir ${displayDir(dir)} ${flags}\`, then \`loom-otel up\` again.`,
  );
}

/** The image named in Compose's output, directly or through the service that failed. */
function imageOf(model: StackModel, output: string): string | undefined {
  for (const part of model.parts) {
    if (output.includes(part.image)) return part.image;
  }
  // Compose names the service on its progress line: " ✘ grafana Error ..."
  for (const part of model.parts) {
    if (new RegExp(`\\b${part.service}\\s+Error\\b`).test(output)) return part.image;
  }
  return undefined;
}

const PULL_FAILURE =
  /pull access denied|manifest unknown|manifest for \S+ not found|failed to resolve reference|error pulling image|toomanyrequests|Error response from daemon: (Get|Head) "https?:|initializing source docker:|pinging container registry|unable to pull|TLS handshake timeout|proxyconnect|registry-1\.docker\.io/;

const PORT_TAKEN =
  /port is already allocated|address already in use|ports are not available/i;

/** Explains a failed `compose up -d` from its output; falls back to its last lines. */
export function explainComposeUpFailure(model: StackModel, dir: string, engine: Engine, output: string): ActionError {
  const engineFailure = explainEngineFailure(engine, output);
  if (engineFailure) return engineFailure;

  if (PORT_TAKEN.test(output)) {
    const port = Number(/(?:Bind for|listen tcp[46]?|exposing port TCP|bind) \[?[\d.:a-f]*\]?:(\d+)/i.exec(output)?.[1]);
    const role = Number.isFinite(port) ? roleOfPort(model, port) : undefined;
    if (role) return portConflictError(model, dir, [{ port, role }]);
    return new ActionError(
      `A host port of the stack is already taken: ${lastLines(output, 1)}`,
      `Stop what holds it, or move the stack to other ports with \`loom-otel init --dir ${displayDir(dir)}\` and the port flags (see \`loom-otel init --help\`).`,
    );
  }

  if (PULL_FAILURE.test(output)) {
    const image = imageOf(model, output);
    const what = image ? `the image ${image}` : 'an image of the stack';
    const reason = lastLines(output.split('\n').filter((line) => /error|denied|unknown|timeout|refused/i.test(line)).join('\n'), 1);
    const fix = /toomanyrequests/i.test(output)
      ? 'Docker Hub is rate-limiting anonymous pulls: `docker login`, wait, or use a registry mirror; then re-run.'
      : /manifest unknown|manifest for \S+ not found/i.test(output)
        ? `The registry does not have that tag: check \`${engine.cli} pull ${image ?? '<image>'}\`, and whether a registry mirror in between lags behind.`
        : `Check the network and that ${engine.cli} can reach the registry (docker.io): behind a proxy, give the ${engine.cli === 'podman' ? 'Podman' : 'Docker daemon'} its proxy settings (HTTP_PROXY/HTTPS_PROXY), or configure a registry mirror. \`${engine.cli} pull ${image ?? '<image>'}\` shows the full error. ${LOCAL_HINT}`;
    return new ActionError(`Could not pull ${what}${reason ? `: ${reason}` : '.'}`, fix);
  }

  if (/Invalid top-level property "name"|Additional properties are not allowed \('name'/i.test(output)) {
    return new ActionError(
      `${engine.compose.join(' ')} ${engine.version} does not understand the Compose specification's top-level \`name:\`.`,
      'Use Compose v2: install the Docker Compose plugin (`docker compose`), or pass `--engine docker`.',
    );
  }

  return new ActionError(
    `\`${engine.compose.join(' ')} up -d\` failed:\n${lastLines(output, 12)}`,
    `Fix what it says above, then re-run \`loom-otel up\`. The stack's files are in ${displayDir(dir)}.`,
  );
}

/** The last non-empty lines of a command's output, for a message. */
export function lastLines(text: string, count: number): string {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '')
    .slice(-count)
    .join('\n');
}

/** A directory as the user would type it: relative to the current directory when inside it. */
export function displayDir(dir: string): string {
  const relative = path.relative(process.cwd(), dir);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : dir;
}
