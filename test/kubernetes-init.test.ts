/**
 * `loom-otel init --target kubernetes`: the Kustomize directory a user gets, checked offline with
 * kubeconform against the schemas of Kubernetes v1.37 (strict: an unknown field fails) and against what
 * the model promises (pinned images, non-root, limits, probes, the collector config of the compose stack).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { runCli, tempDir } from './helpers/cli.js';
import { kubeconform, KUBE_TOOLS, kustomizeBuild, requireKubeconform } from './helpers/kubernetes.js';
import { loadDistribution } from '../src/stack/collector-distribution.js';
import { lintCollectorConfig } from '../src/checks/collector-config.js';
import { buildStackModel, IMAGES } from '../src/stack/model.js';
import { buildCollectorConfig } from '../src/stack/render/collector.js';

type Doc = Record<string, any>;

let work: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  work = await tempDir('loom-otel-k8s-');
});
afterAll(async () => {
  await work.cleanup();
});

let counter = 0;
async function initKube(...args: string[]): Promise<string> {
  const dir = path.join(work.dir, `stack-${counter++}`);
  const run = await runCli(['init', '--yes', '--target', 'kubernetes', '--dir', dir, ...args]);
  if (run.exitCode !== 0) throw new Error(`init ${args.join(' ')} failed: ${run.stderr}`);
  return dir;
}

async function manifestFiles(dir: string): Promise<string[]> {
  const kustomization = parse(await readFile(path.join(dir, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  return kustomization.resources.map((file) => path.join(dir, file));
}

async function docs(dir: string): Promise<Doc[]> {
  const all: Doc[] = [];
  for (const file of await manifestFiles(dir)) {
    for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) all.push(doc.toJS() as Doc);
  }
  return all;
}

const find = (all: Doc[], kind: string, name: string) => {
  const doc = all.find((d) => d.kind === kind && d.metadata?.name === name);
  if (!doc) throw new Error(`no ${kind} ${name}`);
  return doc;
};

const VARIANTS: Array<{ label: string; args: string[] }> = [
  { label: 'default stack', args: [] },
  { label: '--expose', args: ['--expose'] },
  { label: '--no-jaeger --sampling 50', args: ['--no-jaeger', '--sampling', '50'] },
  { label: '--no-prometheus', args: ['--no-prometheus'] },
  { label: '--no-grafana --namespace agents-obs', args: ['--no-grafana', '--namespace', 'agents-obs'] },
  { label: '--sampling 25', args: ['--sampling', '25'] },
  {
    label: 'operator shapes (--collector operator --prometheus operator --grafana sidecar --expose): CRs against the operators\' CRD schemas',
    args: ['--collector', 'operator', '--prometheus', 'operator', '--grafana', 'sidecar', '--expose'],
  },
  { label: '--collector operator --no-jaeger', args: ['--collector', 'operator', '--no-jaeger'] },
];

describe(`kubeconform ${KUBE_TOOLS.kubeconform} -strict, offline, against Kubernetes ${KUBE_TOOLS.kubernetes} schemas`, () => {
  const ready = requireKubeconform();
  for (const variant of VARIANTS) {
    it.skipIf(!ready)(`accepts every manifest of the ${variant.label}`, async () => {
      const dir = await initKube(...variant.args);
      const files = await manifestFiles(dir);
      const result = await kubeconform(files);
      expect(result.exitCode, result.output).toBe(0);
      const expected = (await docs(dir)).length;
      expect(result.resources.filter((r) => r.status === 'statusValid')).toHaveLength(expected);
      expect(expected).toBeGreaterThanOrEqual(5);
    });

    it.skipIf(!ready)(`kustomize ${KUBE_TOOLS.kustomize} builds the ${variant.label} (what kubectl apply -k sends), and kubeconform accepts the result`, async () => {
      const dir = await initKube(...variant.args);
      const built = await kustomizeBuild(dir);
      expect(built.exitCode, built.stderr).toBe(0);
      const resources = parseAllDocuments(built.stdout).map((d) => d.toJS() as Doc);
      expect(resources).toHaveLength((await docs(dir)).length);
      const namespace = resources.find((r) => r.kind === 'Namespace')?.metadata.name;
      for (const resource of resources.filter((r) => r.kind !== 'Namespace')) expect(resource.metadata.namespace).toBe(namespace);
      const result = await kubeconform([], built.stdout);
      expect(result.exitCode, result.output).toBe(0);
      expect(result.resources.filter((r) => r.status === 'statusValid')).toHaveLength(resources.length);
    });
  }

  it.skipIf(!ready)('rejects an OpenTelemetryCollector and a ServiceMonitor with misspelt fields (the CRD schemas are strict too)', async () => {
    const dir = await initKube('--collector', 'operator', '--prometheus', 'operator');
    const collector = path.join(dir, 'collector.yaml');
    await writeFile(collector, (await readFile(collector, 'utf8')).replace('  mode: deployment', '  mode: deployments'));
    const monitor = path.join(dir, 'servicemonitor.yaml');
    await writeFile(monitor, (await readFile(monitor, 'utf8')).replace('honorLabels: true', 'honourLabels: true'));
    const result = await kubeconform([collector, monitor]);
    expect(result.exitCode).toBe(1);
    const invalid = result.resources.filter((r) => r.status === 'statusInvalid');
    expect(invalid.map((r) => r.kind).sort()).toEqual(['OpenTelemetryCollector', 'ServiceMonitor']);
  });

  it.skipIf(!ready)('rejects a Deployment with a misspelt field and a Service with a bad port (the schemas are strict)', async () => {
    const dir = await initKube();
    const file = path.join(dir, 'collector.yaml');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('  replicas: 1', '  replica: 1').replace('port: 4317\n', 'port: "four"\n'));
    const result = await kubeconform([file]);
    expect(result.exitCode).toBe(1);
    const invalid = result.resources.filter((r) => r.status === 'statusInvalid');
    expect(invalid.map((r) => `${r.kind}/${r.name}`).sort()).toEqual(['Deployment/otel-collector', 'Service/otel-collector']);
    expect(invalid.find((r) => r.kind === 'Deployment')?.msg).toMatch(/replica/);
  });
});

describe('the Kustomize directory', () => {
  it('lists every manifest file in kustomization.yaml, namespaced, and records the target in loom-otel.json', async () => {
    const dir = await initKube('--namespace', 'agents');
    const kustomization = parse(await readFile(path.join(dir, 'kustomization.yaml'), 'utf8'));
    expect(kustomization).toMatchObject({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', namespace: 'agents' });
    const yamlFiles = (await readdir(dir)).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'values.yaml').sort();
    expect([...kustomization.resources].sort()).toEqual(yamlFiles);
    const all = await docs(dir);
    expect(find(all, 'Namespace', 'agents')).toBeTruthy();
    for (const doc of all.filter((d) => d.kind !== 'Namespace')) expect(doc.metadata.namespace, `${doc.kind}/${doc.metadata.name}`).toBe('agents');
    const manifest = JSON.parse(await readFile(path.join(dir, 'loom-otel.json'), 'utf8'));
    expect(manifest.options.target).toBe('kubernetes');
    expect(manifest.options.kubernetes).toMatchObject({ namespace: 'agents', collector: 'deployment', prometheus: 'deployment', grafana: 'deployment' });
  });

  it('runs every workload non-root with limits, probes on its health endpoint and the pinned image', async () => {
    const all = await docs(await initKube());
    const deployments = all.filter((d) => d.kind === 'Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['grafana', 'jaeger', 'otel-collector', 'prometheus']);
    const health: Record<string, string[]> = {
      'otel-collector': ['/', '/'],
      jaeger: ['/status', '/status'],
      prometheus: ['/-/healthy', '/-/ready'],
      grafana: ['/api/health', '/api/health'],
    };
    for (const deployment of deployments) {
      const name = deployment.metadata.name as string;
      const pod = deployment.spec.template.spec;
      const [container] = pod.containers;
      expect(pod.securityContext.runAsNonRoot, name).toBe(true);
      expect(pod.securityContext.runAsUser, name).toBeGreaterThan(0);
      expect(container.securityContext.allowPrivilegeEscalation, name).toBe(false);
      // Grafana's image writes outside its data directory; every other image runs read-only.
      expect(container.securityContext.readOnlyRootFilesystem, name).toBe(name !== 'grafana');
      expect(container.resources.requests.memory, name).toMatch(/^\d+Mi$/);
      expect(container.resources.limits.memory, name).toMatch(/^\d+Mi$/);
      expect(Object.values(IMAGES)).toContain(container.image);
      expect([container.livenessProbe.httpGet.path, container.readinessProbe.httpGet.path], name).toEqual(health[name]);
      const probePort = container.ports.find((p: Doc) => p.name === container.livenessProbe.httpGet.port);
      expect(probePort, `${name} probes a named container port`).toBeTruthy();
    }
    expect(find(all, 'PersistentVolumeClaim', 'prometheus-data').spec.resources.requests.storage).toBe('10Gi');
  });

  it("holds the compose stack's collector config, with memory_limiter derived from the Deployment's memory limit", async () => {
    const dir = await initKube();
    const all = await docs(dir);
    const configMap = find(all, 'ConfigMap', 'otel-collector-config');
    const config = parse(configMap.data['config.yaml']);
    const manifest = JSON.parse(await readFile(path.join(dir, 'loom-otel.json'), 'utf8'));
    expect(config).toEqual(buildCollectorConfig(buildStackModel(manifest.options)));
    // The same config as the compose stack, except the memory_limiter's absolute limits.
    const compose = buildCollectorConfig(buildStackModel({ ...manifest.options, target: 'compose', kubernetes: undefined })) as Doc;
    expect({ ...config, processors: { ...config.processors, memory_limiter: undefined } }).toEqual({ ...compose, processors: { ...compose.processors, memory_limiter: undefined } });

    const container = find(all, 'Deployment', 'otel-collector').spec.template.spec.containers[0];
    const limitMiB = Number(/^(\d+)Mi$/.exec(container.resources.limits.memory)?.[1]);
    expect(config.processors.memory_limiter).toEqual({ check_interval: '1s', limit_mib: Math.floor(limitMiB * 0.8), spike_limit_mib: Math.floor(limitMiB * 0.25) });
    expect(container.env).toContainEqual({ name: 'GOMEMLIMIT', value: `${Math.floor(limitMiB * 0.8)}MiB` });
    const lint = lintCollectorConfig({
      config,
      file: 'collector.yaml',
      image: { image: container.image, source: 'test', distribution: await loadDistribution('otelcol-contrib') },
      prometheusScrapes: true,
    });
    expect(lint.checks.filter((c) => c.status === 'fail' || c.status === 'warn')).toEqual([]);
    // The config is mounted where the contrib image reads it.
    expect(container.args).toEqual(['--config=/etc/otelcol-contrib/config.yaml']);
    expect(container.volumeMounts).toContainEqual({ name: 'config', mountPath: '/etc/otelcol-contrib', readOnly: true });
  });

  it('keeps every Service ClusterIP; --expose adds a LoadBalancer for OTLP only', async () => {
    const closed = await docs(await initKube());
    expect(closed.filter((d) => d.kind === 'Service').map((d) => d.spec.type)).toEqual(['ClusterIP', 'ClusterIP', 'ClusterIP', 'ClusterIP']);
    const open = await docs(await initKube('--expose'));
    const external = find(open, 'Service', 'otel-collector-external');
    expect(external.spec.type).toBe('LoadBalancer');
    expect(external.spec.ports.map((p: Doc) => p.port)).toEqual([4317, 4318]);
    expect(find(open, 'Service', 'otel-collector').spec.type).toBe('ClusterIP');
  });

  it('puts a random Grafana password in a 0600, git-ignored Secret file, never on screen, and keeps it on re-run', async () => {
    const dir = path.join(work.dir, 'secret-stack');
    const first = await runCli(['init', '--yes', '--target', 'kubernetes', '--dir', dir]);
    expect(first.exitCode, first.stderr).toBe(0);
    const secretFile = path.join(dir, 'grafana-secret.yaml');
    expect((await stat(secretFile)).mode & 0o777).toBe(0o600);
    const ignored = (await readFile(path.join(dir, '.gitignore'), 'utf8')).split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['grafana-secret.yaml', 'up-local.pid', 'up-local.log']));
    const secret = parseAllDocuments(await readFile(secretFile, 'utf8')).map((d) => d.toJS() as Doc)[0] as Doc;
    const password = secret.stringData.GF_SECURITY_ADMIN_PASSWORD as string;
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(first.stdout + first.stderr).not.toContain(password);
    const grafana = find(await docs(dir), 'Deployment', 'grafana').spec.template.spec.containers[0];
    expect(grafana.env).toContainEqual({ name: 'GF_SECURITY_ADMIN_PASSWORD', valueFrom: { secretKeyRef: { name: 'grafana-admin', key: 'GF_SECURITY_ADMIN_PASSWORD' } } });
    const again = await runCli(['init', '--yes', '--dir', dir, '--environment', 'staging']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await readFile(secretFile, 'utf8')).toContain(password);
    // The recorded target stays: no flag needed on re-run.
    expect(await readFile(path.join(dir, 'collector.yaml'), 'utf8')).toContain('value: staging');
    const other = await initKube();
    expect(await readFile(path.join(other, 'grafana-secret.yaml'), 'utf8')).not.toContain(password);
  });

  it('--check prints a unified diff of an edited manifest, and masks the password of an edited Secret file (exit 1)', async () => {
    const dir = path.join(work.dir, 'check');
    expect((await runCli(['init', '--yes', '--target', 'kubernetes', '--dir', dir])).exitCode).toBe(0);
    const secretFile = path.join(dir, 'grafana-secret.yaml');
    const secret = await readFile(secretFile, 'utf8');
    const password = /GF_SECURITY_ADMIN_PASSWORD: (\S+)/.exec(secret)?.[1] as string;
    expect(password).toBeTruthy();
    await writeFile(secretFile, secret.replace('GF_SECURITY_ADMIN_USER: admin', 'GF_SECURITY_ADMIN_USER: root'));
    const jaeger = path.join(dir, 'jaeger.yaml');
    await writeFile(jaeger, (await readFile(jaeger, 'utf8')).replace('replicas: 1', 'replicas: 2'));
    for (const args of [[], ['--json']]) {
      const run = await runCli(['init', '--check', '--dir', dir, ...args]);
      expect(run.exitCode).toBe(1);
      expect(run.stdout + run.stderr).not.toContain(password);
    }
    const run = await runCli(['init', '--check', '--dir', dir]);
    expect(run.stderr).toMatch(/jaeger\.yaml: edited by hand/);
    expect(run.stderr).toMatch(/grafana-secret\.yaml: edited by hand/);
    expect(run.stdout).toMatch(/^--- a\/jaeger\.yaml\ton disk\n\+\+\+ b\/jaeger\.yaml\tloom-otel init\n/m);
    expect(run.stdout).toMatch(/^-  replicas: 2$/m);
    expect(run.stdout).toMatch(/^\+  replicas: 1$/m);
    expect(run.stdout).toMatch(/^- {2,}GF_SECURITY_ADMIN_USER: root$/m);
    expect(run.stdout).toMatch(/^ {2,}GF_SECURITY_ADMIN_PASSWORD: \*\*\*$/m);
  });

  it('turns a compose stack into a Kubernetes one: compose files removed, the Grafana login kept', async () => {
    const dir = path.join(work.dir, 'switch');
    expect((await runCli(['init', '--yes', '--dir', dir])).exitCode).toBe(0);
    const password = /^GF_SECURITY_ADMIN_PASSWORD=(.+)$/m.exec(await readFile(path.join(dir, '.env'), 'utf8'))?.[1];
    const run = await runCli(['init', '--yes', '--target', 'kubernetes', '--dir', dir]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/docker-compose\.yml\s+removed/);
    const files = await readdir(dir);
    expect(files).not.toContain('docker-compose.yml');
    expect(files).not.toContain('.env');
    expect(password).toBeTruthy();
    expect(await readFile(path.join(dir, 'grafana-secret.yaml'), 'utf8')).toContain(`GF_SECURITY_ADMIN_PASSWORD: ${password}`);
  });

  it('prints the in-cluster endpoint and the apply command, and README.md shows the port-forwards', async () => {
    const dir = path.join(work.dir, 'next-stack');
    const run = await runCli(['init', '--yes', '--target', 'kubernetes', '--namespace', 'obs', '--dir', dir]);
    expect(run.stdout).toContain(`kubectl apply -k ${dir}`);
    expect(run.stdout).toContain('OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-collector.obs.svc:4317');
    const readme = await readFile(path.join(dir, 'README.md'), 'utf8');
    expect(readme).toContain('kubectl -n obs port-forward svc/otel-collector 4317:4317 4318:4318 &');
    expect(readme).toContain('kubectl -n obs port-forward svc/jaeger 16686:16686 &');
    expect(readme).toContain('value: http://otel-collector.obs.svc:4317');
  });

  it('refuses Kubernetes-only flags on a compose stack and bad names, writing nothing (exit 2)', async () => {
    const dir = path.join(work.dir, 'refused');
    const cases: Array<[string[], RegExp]> = [
      [['--namespace', 'obs'], /--namespace only apply to Kubernetes stacks/],
      [['--target', 'kubernetes', '--namespace', 'Obs_1'], /--namespace: "Obs_1" is not a valid Kubernetes name/],
      [['--target', 'swarm'], /--target must be one of compose, kubernetes/],
      [['--target', 'kubernetes', '--collector', 'sidecar'], /--collector must be one of deployment, operator/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(['init', '--yes', '--dir', dir, ...args]);
      expect(run.exitCode, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(message);
    }
    await expect(stat(dir)).rejects.toThrow();
  });
});

describe('the ecosystem shapes', () => {
  it('--collector operator: an OpenTelemetryCollector (v1beta1, mode deployment) whose config object is the collector config', async () => {
    const dir = await initKube('--collector', 'operator');
    const all = await docs(dir);
    expect(all.some((d) => d.kind === 'Deployment' && d.metadata.name === 'otel-collector')).toBe(false);
    const resource = find(all, 'OpenTelemetryCollector', 'otel');
    expect(resource.apiVersion).toBe('opentelemetry.io/v1beta1');
    expect(resource.spec.mode).toBe('deployment');
    expect(resource.spec.image).toBe(IMAGES.collector);
    const manifest = JSON.parse(await readFile(path.join(dir, 'loom-otel.json'), 'utf8'));
    expect(resource.spec.config).toEqual(buildCollectorConfig(buildStackModel(manifest.options)));
    expect(resource.spec.config.processors.memory_limiter.limit_mib).toBe(Math.floor(512 * 0.8));
    expect(resource.spec.resources.limits.memory).toBe('512Mi');
  });

  it('--prometheus operator: ServiceMonitors labelled with the release instead of our Prometheus', async () => {
    const all = await docs(await initKube('--prometheus', 'operator', '--prometheus-release', 'kps', '--prometheus-namespace', 'mon'));
    expect(all.some((d) => d.kind === 'Deployment' && d.metadata.name === 'prometheus')).toBe(false);
    const monitors = all.filter((d) => d.kind === 'ServiceMonitor');
    expect(monitors.map((m) => m.metadata.name).sort()).toEqual(['jaeger', 'otel-collector']);
    for (const monitor of monitors) expect(monitor.metadata.labels.release).toBe('kps');
    const collector = find(all, 'ServiceMonitor', 'otel-collector');
    // Each endpoint names a port of the Service it selects.
    const service = find(all, 'Service', 'otel-collector');
    expect(collector.spec.selector.matchLabels['app.kubernetes.io/name']).toBe(service.metadata.labels['app.kubernetes.io/name']);
    for (const endpoint of collector.spec.endpoints) expect(service.spec.ports.map((p: Doc) => p.name)).toContain(endpoint.port);
    expect(find(all, 'Service', 'prometheus').spec).toMatchObject({ type: 'ExternalName', externalName: 'prometheus-operated.mon.svc.cluster.local' });
  });

  it('--grafana sidecar: labelled ConfigMaps with cluster URLs, no default datasource, no Grafana or Secret of ours', async () => {
    const dir = await initKube('--grafana', 'sidecar', '--namespace', 'obs');
    const all = await docs(dir);
    expect(all.some((d) => d.kind === 'Deployment' && d.metadata.name === 'grafana')).toBe(false);
    expect(all.some((d) => d.kind === 'Secret')).toBe(false);
    const datasources = find(all, 'ConfigMap', 'loom-grafana-datasources');
    expect(datasources.metadata.labels.grafana_datasource).toBe('1');
    const provisioned = parse(datasources.data['loom-datasources.yaml']);
    expect(provisioned.datasources.map((d: Doc) => [d.name, d.url, d.isDefault])).toEqual([
      ['Loom Prometheus', 'http://prometheus.obs.svc:9090', false],
      ['Loom Jaeger', 'http://jaeger.obs.svc:16686', false],
    ]);
    const dashboards = find(all, 'ConfigMap', 'loom-grafana-dashboards');
    expect(dashboards.metadata.labels.grafana_dashboard).toBe('1');
    expect(JSON.parse(dashboards.data['loom-agents.json']).uid).toBe('loom-agents');
    const readme = await readFile(path.join(dir, 'README.md'), 'utf8');
    expect(readme).toContain('sidecar.dashboards.searchNamespace');
    expect(readme).not.toContain('Grafana login');
    expect(readme).not.toContain('port-forward svc/grafana');
  });

  it('--helm-values: values.yaml for the opentelemetry-collector chart holding our collector config', async () => {
    const dir = await initKube('--helm-values');
    const values = parse(await readFile(path.join(dir, 'values.yaml'), 'utf8'));
    expect(values).toMatchObject({ mode: 'deployment', image: { repository: 'otel/opentelemetry-collector-contrib', tag: IMAGES.collector.split(':')[1] }, command: { name: 'otelcol-contrib' } });
    const manifest = JSON.parse(await readFile(path.join(dir, 'loom-otel.json'), 'utf8'));
    const config = buildCollectorConfig(buildStackModel(manifest.options)) as Doc;
    // The chart merges `config` into its defaults: the nulls remove its percentage-based memory_limiter keys.
    expect(values.config).toEqual({
      ...config,
      processors: { ...config.processors, memory_limiter: { ...config.processors.memory_limiter, limit_percentage: null, spike_limit_percentage: null } },
    });
    expect(values.ports.spanmetrics).toMatchObject({ enabled: true, containerPort: 8889 });
    const kustomization = parse(await readFile(path.join(dir, 'kustomization.yaml'), 'utf8'));
    expect(kustomization.resources).not.toContain('values.yaml');
  });

  it('refuses --prometheus operator on a compose stack (exit 2)', async () => {
    const run = await runCli(['init', '--yes', '--dir', path.join(work.dir, 'compose-operator'), '--prometheus', 'operator']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('--prometheus only apply to Kubernetes stacks');
  });
});
