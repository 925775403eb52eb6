/**
 * docker-compose.yml (Compose Specification: no `version:`, a `name:`). Images come pinned from IMAGES,
 * host ports are bound to 127.0.0.1 unless --expose, config files are mounted read-only.
 */
import path from 'node:path';
import { CONTAINER_PORTS, DEPLOYMENT_ENV_VAR, type PublishedPort, type StackModel } from '../model.js';
import { COLLECTOR_CONFIG_FILE, COLLECTOR_CONFIG_PATH } from './collector.js';
import { GRAFANA_DASHBOARD_FILE, GRAFANA_DASHBOARDS_PATH, GRAFANA_PROVISIONING_PATH, grafanaProvisioningFolders } from './grafana.js';
import { JAEGER_CONFIG_FILE, JAEGER_CONFIG_PATH } from './jaeger.js';
import { PROMETHEUS_CONFIG_FILE, PROMETHEUS_CONFIG_PATH } from './prometheus.js';
import { ENV_FILE } from './env.js';
import { quoted, renderYaml, type KeyComment } from './yaml.js';

export const COMPOSE_FILE = 'docker-compose.yml';
export const VOLUMES = { prometheus: 'prometheus-data', grafana: 'grafana-data' } as const;

const RESTART = 'unless-stopped';

/**
 * `127.0.0.1:4317:4317`, quoted: YAML 1.1 readers could take unquoted `a:b` digits for base-60 numbers.
 * All interfaces (--expose) are written without an address (`4317:4317`): that is what Compose means by
 * all interfaces (IPv4 and IPv6), and an explicit `0.0.0.0` publishes nothing reachable with Podman before
 * netavark 1.6, which matched it as a literal destination address (containers/netavark#636; seen with
 * Podman 4.3 and netavark 1.4).
 */
function portMappings(ports: PublishedPort[]) {
  return ports.map((p) => quoted(p.hostIp === '0.0.0.0' ? `${p.host}:${p.container}` : `${p.hostIp}:${p.host}:${p.container}`));
}

/** A probe run inside the container; only for images that ship wget (Prometheus: busybox, Grafana: alpine). */
function wgetHealthcheck(url: string) {
  return { test: ['CMD', 'wget', '-q', '--spider', url], interval: '10s', timeout: '5s', retries: 6, start_period: '20s' };
}

/** Grafana's settings besides the login: no sign-up, no anonymous access, the Loom dashboard as home. */
export function grafanaEnvironment(model: StackModel): Record<string, string> {
  return {
    GF_USERS_ALLOW_SIGN_UP: 'false',
    GF_AUTH_ANONYMOUS_ENABLED: 'false',
    ...(model.has('prometheus') ? { GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH: `${GRAFANA_DASHBOARDS_PATH}/${path.posix.basename(GRAFANA_DASHBOARD_FILE)}` } : {}),
  };
}

export function buildCompose(model: StackModel): Record<string, unknown> {
  const services: Record<string, unknown> = {};
  const collector = model.part('collector');
  if (!collector) throw new Error('The stack model has no collector.');
  const jaeger = model.part('jaeger');

  services[collector.service] = {
    image: collector.image,
    command: [`--config=${COLLECTOR_CONFIG_PATH}`],
    volumes: [`./${COLLECTOR_CONFIG_FILE}:${COLLECTOR_CONFIG_PATH}:ro`],
    environment: { [DEPLOYMENT_ENV_VAR]: `\${${DEPLOYMENT_ENV_VAR}:-${model.options.environment}}` },
    ports: portMappings(collector.ports),
    ...(jaeger ? { depends_on: [jaeger.service] } : {}),
    restart: RESTART,
  };
  if (jaeger) {
    services[jaeger.service] = {
      image: jaeger.image,
      command: ['--config', JAEGER_CONFIG_PATH],
      volumes: [`./${JAEGER_CONFIG_FILE}:${JAEGER_CONFIG_PATH}:ro`],
      ports: portMappings(jaeger.ports),
      restart: RESTART,
    };
  }
  const prometheus = model.part('prometheus');
  if (prometheus) {
    services[prometheus.service] = {
      image: prometheus.image,
      volumes: [`./${PROMETHEUS_CONFIG_FILE}:${PROMETHEUS_CONFIG_PATH}:ro`, `${VOLUMES.prometheus}:/prometheus`],
      ports: portMappings(prometheus.ports),
      healthcheck: wgetHealthcheck(`http://127.0.0.1:${CONTAINER_PORTS.prometheus}/-/ready`),
      restart: RESTART,
    };
  }
  const grafana = model.part('grafana');
  if (grafana) {
    const dashboards = model.has('prometheus');
    services[grafana.service] = {
      image: grafana.image,
      env_file: [ENV_FILE],
      environment: grafanaEnvironment(model),
      volumes: [
        ...grafanaProvisioningFolders(model).map((folder) => `./${folder}:${GRAFANA_PROVISIONING_PATH}/${path.posix.basename(folder)}:ro`),
        ...(dashboards ? [`./grafana/dashboards:${GRAFANA_DASHBOARDS_PATH}:ro`] : []),
        `${VOLUMES.grafana}:/var/lib/grafana`,
      ],
      ports: portMappings(grafana.ports),
      depends_on: model.parts.filter((p) => p.name === 'prometheus' || p.name === 'jaeger').map((p) => p.service),
      healthcheck: wgetHealthcheck(`http://127.0.0.1:${CONTAINER_PORTS.grafana}/api/health`),
      restart: RESTART,
    };
  }

  const volumes: Record<string, Record<string, never>> = {};
  if (prometheus) volumes[VOLUMES.prometheus] = {};
  if (grafana) volumes[VOLUMES.grafana] = {};
  return { name: model.options.name, services, ...(Object.keys(volumes).length > 0 ? { volumes } : {}) };
}

export function renderCompose(model: StackModel): string {
  const { options } = model;
  const collector = model.part('collector')?.service ?? '';
  const comments: KeyComment[] = [
    [['name'], 'Compose project name: prefixes container, network and volume names.'],
    [
      ['services'],
      options.expose
        ? 'Ports are published on ALL interfaces (--expose): anyone who can reach this host can send data and open the UIs.'
        : 'Ports are published on 127.0.0.1 only: reachable from this machine, not from the network (loom-otel init --expose changes that).',
    ],
    [
      ['services', collector],
      `The collector receives OTLP from your agents and fans it out. No healthcheck here: the image is distroless\n(no shell, curl or wget); \`loom-otel up\` polls its health_check port from the host instead.`,
    ],
    [['services', collector, 'environment'], 'deployment.environment for spans that do not set it; override DEPLOYMENT_ENV in .env or your shell.'],
  ];
  const jaeger = model.part('jaeger');
  if (jaeger) comments.push([['services', jaeger.service], 'Jaeger v2: trace storage (in memory) and UI. Also distroless, so no container healthcheck.']);
  const prometheus = model.part('prometheus');
  if (prometheus) comments.push([['services', prometheus.service], 'Prometheus scrapes the collector; its data lives in the prometheus-data volume.']);
  const grafana = model.part('grafana');
  if (grafana) {
    comments.push([['services', grafana.service], 'Grafana: datasources and the Loom agents dashboard are provisioned from ./grafana.']);
    comments.push([['services', grafana.service, 'env_file'], 'The admin login (GF_SECURITY_ADMIN_USER / _PASSWORD) is in .env, which git ignores.']);
  }
  if (prometheus || grafana) {
    comments.push([['volumes'], '`docker compose down` keeps these; `docker compose down -v` deletes the stored metrics and Grafana state.']);
  }
  return renderYaml(buildCompose(model), {
    header: `Observability stack for Loom agents, generated by loom-otel init.\nStart: loom-otel up (or docker compose up -d)   Stop: docker compose down\nRe-run \`loom-otel init\` to change it; files you edited are left alone unless --force.`,
    comments,
  });
}
