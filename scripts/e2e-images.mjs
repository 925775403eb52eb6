#!/usr/bin/env node
/**
 * `npm run e2e:images`: builds the real collector, Jaeger and Prometheus from their Go modules at the
 * versions the generated compose file pins, builds container images from them that mirror the official
 * ones, and tags each with the exact name the compose file uses. It also installs the Docker CLI's
 * Compose v2 plugin (built from its Go module) when `docker compose` is missing, and writes Podman's
 * settings (FACTS.md) when /etc/containers/containers.conf is missing.
 *
 * Everything built is cached outside the repository, keyed by version (LOOM_OTEL_E2E_CACHE, default
 * ~/.cache/loom-otel-e2e): a second run only checks that the images are there.
 *
 * The collector is built with the OpenTelemetry Collector Builder from exactly the components the
 * generated configs name: the CLI writes every variant of the stack, and each component id in their
 * otel-collector.yaml is mapped to its module in the release manifest (scripts/collector-manifest.mjs).
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { access, chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { collectorManifest, COMPONENT_KINDS } from './collector-manifest.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = process.env.LOOM_OTEL_E2E_CACHE || path.join(homedir(), '.cache/loom-otel-e2e');
const GO_ENV = { CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false', GOTOOLCHAIN: 'local' };

/** The Collector Builder, at the collector release it builds. */
const BUILDER_MODULE = 'go.opentelemetry.io/collector/cmd/builder';
/**
 * Compose v2 for the Docker CLI. v5.6.0 is the newest release whose go.mod accepts Go 1.26.8 (v5.7.x
 * asks for 1.26.10, which this machine's Go cannot switch to offline).
 */
const COMPOSE = { module: 'github.com/docker/compose/v5', version: 'v5.6.0' };
/**
 * Jaeger v2 releases have no Go module version of their own: the repository's module is v1, and release
 * 2.N was tagged v1.M as well up to 2.13.0. Later releases can only be reached by a commit, which the
 * module proxy does not serve here.
 */
const JAEGER_MODULE_VERSIONS = { '2.13.0': 'v1.76.0' };

/** The Python peer: the OpenTelemetry SDK and OTLP/gRPC exporter Loom agents use, from PyPI. */
const PYTHON_PACKAGES = ['opentelemetry-sdk==1.45.2', 'opentelemetry-exporter-otlp-proto-grpc==1.45.2'];

const PODMAN_CONF = '/etc/containers/containers.conf';
const PODMAN_SETTINGS = `# Written by loom-otel's scripts/e2e-images.mjs (settings from FACTS.md): containers in a sandbox that
# lacks CAP_SYS_RESOURCE and mounts cgroup v1 + v2 side by side.
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
`;

function log(message) {
  console.log(`[e2e:images] ${message}`);
}

async function exists(file) {
  return access(file).then(() => true, () => false);
}

/** Runs a command, streaming its output only when it fails (builds are long and chatty). */
async function run(file, args, options = {}) {
  const result = await execa(file, args, { reject: false, all: true, ...options, env: { ...process.env, ...GO_ENV, ...options.env } });
  if (result.exitCode !== 0) {
    throw new Error(`\`${file} ${args.join(' ')}\` failed (exit ${result.exitCode}):\n${String(result.all ?? '').split('\n').slice(-40).join('\n')}`);
  }
  return String(result.stdout ?? '');
}

function sha(text) {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

async function ensurePodmanSettings() {
  if (await exists(PODMAN_CONF)) return;
  log(`writing ${PODMAN_CONF}`);
  await mkdir(path.dirname(PODMAN_CONF), { recursive: true });
  await writeFile(PODMAN_CONF, PODMAN_SETTINGS);
}

/** The `replace`/`exclude` lines and blocks of a go.mod (a block ends at a line that is only `)`). */
function goModDirectives(text, names) {
  const directives = [];
  let block;
  for (const line of text.split('\n')) {
    if (block) {
      block.push(line);
      if (line.trim() === ')') {
        directives.push(block.join('\n'));
        block = undefined;
      }
    } else if (names.some((name) => new RegExp(`^${name}\\s*\\($`).test(line.trim()))) {
      block = [line];
    } else if (names.some((name) => line.startsWith(`${name} `))) {
      directives.push(line);
    }
  }
  return directives;
}

/**
 * Builds Go packages of one module version into `outDir`, through a wrapper module that requires it and
 * carries the module's own `replace` and `exclude` lines (which `go install pkg@version` refuses).
 */
async function buildGoProgram({ module, version, outDir, programs, tags = [], ldflags = '-s -w', moduleFiles = {} }) {
  const wanted = [...programs.map((p) => path.join(outDir, p.output)), ...Object.keys(moduleFiles).map((name) => path.join(outDir, name))];
  if ((await Promise.all(wanted.map(exists))).every(Boolean)) return;
  log(`building ${module}@${version} (minutes on a fresh machine)`);
  const src = path.join(outDir, 'src');
  await rm(src, { recursive: true, force: true });
  await mkdir(src, { recursive: true });
  const info = JSON.parse(await run('go', ['mod', 'download', '-json', `${module}@${version}`], { cwd: src }));
  const upstream = await readFile(info.GoMod, 'utf8');
  const directives = goModDirectives(upstream, ['replace', 'exclude']);
  await writeFile(path.join(src, 'go.mod'), `module loomotele2e/build\n\ngo 1.26\n\n${directives.join('\n\n')}\n`);
  await run('go', ['get', ...programs.map((p) => `${p.pkg}@${version}`)], { cwd: src });
  for (const program of programs) {
    await run('go', ['build', '-trimpath', ...(tags.length ? ['-tags', tags.join(',')] : []), '-ldflags', ldflags, '-o', path.join(outDir, program.output), program.pkg], { cwd: src });
  }
  // Files the official image copies from the release's source tree (licence, default config, ...).
  for (const [name, from] of Object.entries(moduleFiles)) await copyFile(path.join(info.Dir, from), path.join(outDir, name));
  await rm(src, { recursive: true, force: true });
}

/** `docker compose` through the Compose v2 plugin; built and installed when the Docker CLI lacks it. */
async function ensureComposePlugin() {
  const version = await execa('docker', ['compose', 'version'], { reject: false });
  if (version.exitCode === 0) return log(`Compose: ${String(version.stdout).trim()}`);
  const outDir = path.join(CACHE, `compose-${COMPOSE.version}`);
  await buildGoProgram({
    module: COMPOSE.module,
    version: COMPOSE.version,
    outDir,
    programs: [{ pkg: `${COMPOSE.module}/cmd`, output: 'docker-compose' }],
    ldflags: `-s -w -X ${COMPOSE.module}/internal.Version=${COMPOSE.version}`,
  });
  const plugins = path.join(homedir(), '.docker/cli-plugins');
  await mkdir(plugins, { recursive: true });
  await copyFile(path.join(outDir, 'docker-compose'), path.join(plugins, 'docker-compose'));
  await chmod(path.join(plugins, 'docker-compose'), 0o755);
  log(`installed the Compose plugin ${COMPOSE.version} in ${plugins}`);
}

/** A venv with the Python OpenTelemetry SDK, for the Python agent the tests run (test/fixtures/python-agent). */
async function ensurePythonSdk() {
  const venv = path.join(CACHE, 'python-otel');
  const marker = path.join(venv, 'loom-otel-packages.txt');
  const wanted = PYTHON_PACKAGES.join('\n');
  if ((await readFile(marker, 'utf8').catch(() => '')) === wanted) return;
  log(`installing ${PYTHON_PACKAGES.join(', ')} in ${venv}`);
  await rm(venv, { recursive: true, force: true });
  await run('python3', ['-m', 'venv', venv]);
  await run(path.join(venv, 'bin/pip'), ['install', '--quiet', '--disable-pip-version-check', ...PYTHON_PACKAGES]);
  await writeFile(marker, wanted);
}

/** Every variant of the generated stack whose collector config may name a different component. */
const VARIANTS = [[], ['--sampling', '10'], ['--no-jaeger'], ['--no-prometheus'], ['--no-jaeger', '--no-prometheus', '--no-grafana']];

/** Writes each variant with the CLI (as a user does) and reads what the image build needs from them. */
async function readGeneratedStacks() {
  const dir = await mkdtemp(path.join(tmpdir(), 'loom-otel-e2e-images-'));
  try {
    const images = new Map();
    const components = Object.fromEntries(COMPONENT_KINDS.map((kind) => [kind, new Set()]));
    for (const [index, flags] of VARIANTS.entries()) {
      const stackDir = path.join(dir, String(index));
      await run('node', [path.join(ROOT, 'bin/loom-otel.js'), 'init', '--yes', '--dir', stackDir, ...flags]);
      const compose = parse(await readFile(path.join(stackDir, 'docker-compose.yml'), 'utf8'));
      for (const [service, spec] of Object.entries(compose.services)) images.set(service, spec.image);
      const config = parse(await readFile(path.join(stackDir, 'otel-collector.yaml'), 'utf8'));
      for (const kind of Object.keys(components)) {
        for (const id of Object.keys(config[kind] ?? {})) components[kind].add(id.split('/')[0]);
      }
    }
    return { images, components };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function buildCollector(components, version) {
  const { stringify } = await import('yaml');
  const manifest = await collectorManifest(components, version);
  const text = stringify(manifest);
  const outDir = path.join(CACHE, `otelcol-contrib-${version}`, sha(text));
  const binary = path.join(outDir, 'otelcol-contrib');
  if (await exists(binary)) return binary;
  const builder = path.join(CACHE, `builder-${version}`, 'builder');
  if (!(await exists(builder))) {
    log(`installing the Collector Builder v${version}`);
    await run('go', ['install', `${BUILDER_MODULE}@v${version}`], { env: { GOBIN: path.dirname(builder) } });
  }
  const modules = COMPONENT_KINDS.reduce((count, kind) => count + manifest[kind].length, 0);
  log(`building the collector ${version} with ${modules} component modules (minutes on a fresh machine)`);
  await mkdir(outDir, { recursive: true });
  const build = path.join(outDir, 'build');
  await writeFile(path.join(outDir, 'manifest.yaml'), stringify({ ...manifest, dist: { ...manifest.dist, output_path: build } }));
  await run(builder, ['--config', path.join(outDir, 'manifest.yaml')], { env: { CGO_ENABLED: '0' } });
  await copyFile(path.join(build, 'otelcol-contrib'), binary);
  await rm(build, { recursive: true, force: true });
  return binary;
}

async function buildJaeger(version) {
  const moduleVersion = JAEGER_MODULE_VERSIONS[version];
  if (!moduleVersion) throw new Error(`Jaeger ${version} has no Go module version that can be built here (known: ${Object.keys(JAEGER_MODULE_VERSIONS).join(', ')})`);
  const outDir = path.join(CACHE, `jaeger-${version}`);
  await buildGoProgram({
    module: 'github.com/jaegertracing/jaeger',
    version: moduleVersion,
    outDir,
    programs: [{ pkg: 'github.com/jaegertracing/jaeger/cmd/jaeger', output: 'jaeger-linux' }],
    moduleFiles: { 'sampling-strategies.json': 'cmd/jaeger/sampling-strategies.json' },
  });
  return outDir;
}

/** Prometheus 3.X.Y is the Go module version v0.3XX.Y. Built without the web UI's assets (an npm build): the API is whole. */
async function buildPrometheus(version) {
  const [major, minor, patch] = version.replace(/^v/, '').split('.').map(Number);
  if (major !== 3) throw new Error(`Prometheus ${version}: only 3.x is mapped to its Go module version`);
  const outDir = path.join(CACHE, `prometheus-${version.replace(/^v/, '')}`);
  const versionFlags = ['Version', 'Branch', 'Revision'].map((name) => `-X github.com/prometheus/common/version.${name}=${name === 'Version' ? version.replace(/^v/, '') : 'loom-otel-e2e'}`);
  await buildGoProgram({
    module: 'github.com/prometheus/prometheus',
    version: `v0.${300 + minor}.${patch}`,
    outDir,
    tags: ['netgo'],
    ldflags: ['-s -w', ...versionFlags].join(' '),
    programs: [
      { pkg: 'github.com/prometheus/prometheus/cmd/prometheus', output: 'prometheus' },
      { pkg: 'github.com/prometheus/prometheus/cmd/promtool', output: 'promtool' },
    ],
    moduleFiles: { 'prometheus.yml': 'documentation/examples/prometheus.yml', LICENSE: 'LICENSE', NOTICE: 'NOTICE' },
  });
  return outDir;
}

/**
 * Container images that mirror the official ones (their Dockerfiles at the pinned releases): entrypoint,
 * default command, user, config and data paths. None can be pulled here, so the bases are `scratch`
 * plus the host's CA bundle (collector, Jaeger) and Debian's static busybox (Prometheus).
 */
const DOCKERFILES = {
  // opentelemetry-collector-releases distributions/otelcol-contrib/Dockerfile
  collector: `FROM scratch
ARG USER_UID=10001
ARG USER_GID=10001
USER \${USER_UID}:\${USER_GID}
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --chmod=755 otelcol-contrib /otelcol-contrib
COPY config.yaml /etc/otelcol-contrib/config.yaml
ENTRYPOINT ["/otelcol-contrib"]
CMD ["--config", "/etc/otelcol-contrib/config.yaml"]
EXPOSE 4317 55678 55679
`,
  // jaeger cmd/jaeger/Dockerfile (its base image adds only the CA bundle to alpine)
  jaeger: `FROM scratch
ARG USER_UID=10001
ENV JAEGER_LISTEN_HOST=0.0.0.0
EXPOSE 5778 5779 4317 4318 14268 14250 9411 16686 13132 13133
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --chmod=755 jaeger-linux /cmd/jaeger/jaeger-linux
COPY sampling-strategies.json /cmd/jaeger/sampling-strategies.json
VOLUME ["/tmp"]
ENTRYPOINT ["/cmd/jaeger/jaeger-linux"]
USER \${USER_UID}
`,
  // prometheus Dockerfile (v3): busybox base, /bin/prometheus and /bin/promtool, data in /prometheus
  prometheus: `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd && echo 'nobody:x:65534:65534:nobody:/home:/bin/false' >> /etc/passwd && \\
    echo 'root:x:0:' > /etc/group && echo 'nobody:x:65534:' >> /etc/group && mkdir -p /tmp && chmod 1777 /tmp
COPY --chmod=755 prometheus /bin/prometheus
COPY --chmod=755 promtool /bin/promtool
COPY prometheus.yml /etc/prometheus/prometheus.yml
COPY LICENSE /LICENSE
COPY NOTICE /NOTICE
WORKDIR /prometheus
RUN chown -R nobody:nobody /etc/prometheus /prometheus && chmod g+w /prometheus
USER nobody
EXPOSE 9090
VOLUME ["/prometheus"]
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
`,
};

/** The image's name as Podman stores it, so Compose finds it locally instead of pulling. */
function localName(image) {
  return image.split('/')[0].includes('.') ? image : `docker.io/${image}`;
}

async function buildImage(part, image, files) {
  const key = sha(DOCKERFILES[part] + JSON.stringify(files));
  const label = `io.loom-otel.e2e.build`;
  const inspect = await execa('podman', ['image', 'inspect', '--format', `{{index .Labels "${label}"}}`, localName(image)], { reject: false });
  if (inspect.exitCode === 0 && String(inspect.stdout).trim() === key) return log(`image ${image} is current`);
  const context = await mkdtemp(path.join(tmpdir(), `loom-otel-image-${part}-`));
  try {
    await writeFile(path.join(context, 'Dockerfile'), DOCKERFILES[part]);
    for (const [name, source] of Object.entries(files)) {
      if (typeof source === 'string') await copyFile(source, path.join(context, name));
      else await writeFile(path.join(context, name), source.text);
    }
    log(`building image ${image}`);
    await run('podman', ['build', '--label', `${label}=${key}`, '--label', `org.opencontainers.image.description=built here by loom-otel e2e:images from the real ${part} ${image.split(':').pop()}`, '-t', localName(image), context]);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

/** The collector image's default config, for a bare `run` (the stack mounts its own over it). */
const DEFAULT_COLLECTOR_CONFIG = `receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
      http:
        endpoint: 0.0.0.0:4318
exporters:
  debug: {}
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
`;

async function main() {
  for (const tool of ['go', 'podman', 'docker']) {
    if ((await execa('sh', ['-c', `command -v ${tool}`], { reject: false })).exitCode !== 0) throw new Error(`${tool} is not installed (.ci/run installs it)`);
  }
  await ensurePodmanSettings();
  await ensureComposePlugin();
  await ensurePythonSdk();
  const { images, components } = await readGeneratedStacks();
  const tag = (service) => images.get(service).split(':').pop();
  const caBundle = '/etc/ssl/certs/ca-certificates.crt';

  // `npm run e2e:images -- jaeger` builds only the parts named (all three by default).
  const only = process.argv.slice(2);
  const wanted = (part) => only.length === 0 || only.includes(part);

  if (wanted('collector')) {
  const collector = await buildCollector(components, tag('otel-collector'));
  await buildImage('collector', images.get('otel-collector'), { 'otelcol-contrib': collector, 'ca-certificates.crt': caBundle, 'config.yaml': { text: DEFAULT_COLLECTOR_CONFIG } });

  }
  if (wanted('jaeger')) {
  const jaeger = await buildJaeger(tag('jaeger'));
  await buildImage('jaeger', images.get('jaeger'), {
    'jaeger-linux': path.join(jaeger, 'jaeger-linux'),
    'sampling-strategies.json': path.join(jaeger, 'sampling-strategies.json'),
    'ca-certificates.crt': caBundle,
  });

  }
  if (wanted('prometheus')) {
  const prometheus = await buildPrometheus(tag('prometheus'));
  await buildImage('prometheus', images.get('prometheus'), {
    prometheus: path.join(prometheus, 'prometheus'),
    promtool: path.join(prometheus, 'promtool'),
    busybox: '/bin/busybox',
    'prometheus.yml': path.join(prometheus, 'prometheus.yml'),
    LICENSE: path.join(prometheus, 'LICENSE'),
    NOTICE: path.join(prometheus, 'NOTICE'),
  });
  }
  const built = { collector: 'otel-collector', jaeger: 'jaeger', prometheus: 'prometheus' };
  log(`images ready: ${Object.entries(built).filter(([part]) => wanted(part)).map(([, service]) => images.get(service)).join(', ')} (Grafana is AGPL: not built)`);
}

main().catch((error) => {
  console.error(`[e2e:images] ${error.message}`);
  process.exit(1);
});
