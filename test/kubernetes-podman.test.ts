/**
 * The Kubernetes Deployments started for real with `podman kube play`, each with its ConfigMaps, using the
 * images built here from the real programs (`npm run e2e:images`, tagged with the names IMAGES pins; Grafana
 * is AGPL and never built, so its Deployment is only validated). Each program must start with the config
 * mounted from its ConfigMap, run as the manifest's user with its read-only root and memory limit, and
 * answer the health endpoint its probes name.
 *
 * What podman cannot emulate, and how the test stands in for it: Services and cluster DNS (each Deployment
 * runs alone; `jaeger`/`prometheus` do not resolve, which the programs tolerate at start), and httpGet
 * probes (podman turns them into curl commands these distroless images cannot run), so the test GETs each
 * probe's path on the probe's named port. Every container port is published on a free 127.0.0.1 port for
 * the test only (podman 4.3 would otherwise publish it at its own number on the host).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa, execaSync } from 'execa';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { runCli, tempDir } from './helpers/cli.js';
import { freePort } from './helpers/ports.js';
import { validatorsRequired } from './helpers/validators.js';
import { IMAGES, type PartName } from '../src/stack/model.js';
import { PART_FILES } from '../src/stack/render/kubernetes.js';

type Doc = Record<string, any>;

/** Grafana has no image here (AGPL): kubeconform and the structure tests cover its Deployment. */
const PLAYED: Array<Exclude<PartName, 'grafana'>> = ['collector', 'jaeger', 'prometheus'];
/** Lines a program logs at warning level or worse, in the collector/Jaeger console format and Prometheus' logfmt. */
const WARNING_LINE = /\t(warn|error|fatal|panic)\t|level=(warn|error)/i;
/**
 * Warnings that come from how the images are built here, not from the config: Jaeger built from its Go
 * module has no UI assets (the official image embeds them) and says so once at start.
 */
const IMAGE_BUILD_WARNINGS = [/ui assets not embedded in the binary, using a placeholder/];

function podmanReady(): { ok: boolean; why?: string } {
  const podman = execaSync('podman', ['version', '--format', '{{.Client.Version}}'], { reject: false });
  if (podman.exitCode !== 0) return { ok: false, why: 'podman is not installed (apt-get install podman catatonit)' };
  if (execaSync('sh', ['-c', 'command -v catatonit || test -x /usr/libexec/podman/catatonit'], { reject: false }).exitCode !== 0) {
    return { ok: false, why: 'catatonit is not installed (apt-get install catatonit): podman kube play needs it for the pause image' };
  }
  return { ok: true };
}

function imageReady(image: string): { ok: boolean; why?: string } {
  if (execaSync('podman', ['image', 'exists', image], { reject: false }).exitCode === 0) return { ok: true };
  return { ok: false, why: `image ${image} is not in podman: build it with \`npm run e2e:images\`` };
}

function gate(check: { ok: boolean; why?: string }, what: string): boolean {
  if (check.ok) return true;
  if (validatorsRequired) throw new Error(`${what} needs it in CI: ${check.why}`);
  console.warn(`${what} skipped: ${check.why}`);
  return false;
}

async function waitForOk(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + timeoutMs;
  let last = { status: 0, body: 'no answer' };
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      last = { status: response.status, body: await response.text() };
      if (response.status === 200) return last;
    } catch (error) {
      last = { status: 0, body: (error as Error).message };
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return last;
}

let work: { dir: string; cleanup: () => Promise<void> };
let stack: string;
const podman = podmanReady();
const ready = gate(podman, 'podman kube play of the Kubernetes Deployments');
/** Whatever a test played, removed in afterAll even when an assertion failed. */
const played: Array<{ file: string; volumes: string[] }> = [];

beforeAll(async () => {
  work = await tempDir('loom-otel-k8s-play-');
  stack = path.join(work.dir, 'k8s');
  const run = await runCli(['init', '--yes', '--target', 'kubernetes', '--dir', stack]);
  if (run.exitCode !== 0) throw new Error(run.stderr);
});

afterAll(async () => {
  for (const { file, volumes } of played) {
    await execa('podman', ['kube', 'down', file], { reject: false });
    if (volumes.length > 0) await execa('podman', ['volume', 'rm', '--force', ...volumes], { reject: false });
  }
  await work.cleanup();
}, 120_000);

/**
 * The part's manifest as podman plays it: the same documents, Services left out, every name prefixed so
 * nothing clashes with another run or another engineer's containers, and the probe port published on
 * 127.0.0.1 so the test can GET what the kubelet would.
 */
async function forPodman(docs: Doc[], prefix: string): Promise<{ docs: Doc[]; volumes: string[]; probePort: number }> {
  const rename = (name: string) => `${prefix}-${name}`;
  const volumes: string[] = [];
  const out: Doc[] = [];
  for (const doc of structuredClone(docs)) {
    if (doc.kind === 'Service') continue;
    doc.metadata.name = rename(doc.metadata.name);
    if (doc.kind === 'ConfigMap' || doc.kind === 'PersistentVolumeClaim') volumes.push(doc.metadata.name);
    if (doc.kind === 'Deployment') {
      const pod = doc.spec.template.spec;
      for (const volume of pod.volumes) {
        if (volume.configMap) volume.configMap.name = rename(volume.configMap.name);
        if (volume.persistentVolumeClaim) volume.persistentVolumeClaim.claimName = rename(volume.persistentVolumeClaim.claimName);
      }
      // podman 4.3 publishes every containerPort on the host at the same number: give each a free
      // loopback port instead, so nothing clashes with a stack another test or engineer runs.
      for (const port of pod.containers[0].ports) Object.assign(port, { hostPort: await freePort(), hostIP: '127.0.0.1' });
    }
    out.push(doc);
  }
  const container = out.find((d) => d.kind === 'Deployment')?.spec.template.spec.containers[0];
  const probePort = container.ports.find((p: Doc) => p.name === container.livenessProbe.httpGet.port).hostPort as number;
  return { docs: out, volumes, probePort };
}

describe('podman kube play: each Deployment starts with its ConfigMaps (Services and cluster DNS not emulated by podman)', () => {
  for (const part of PLAYED) {
    const image = IMAGES[part];
    const runnable = ready && gate(imageReady(image), `podman kube play of the ${part} Deployment`);
    it.skipIf(!runnable)(
      `${part} (image built here from the real program, ${image}): starts with the mounted config, runs as the manifest says, answers its probes' health endpoint`,
      async () => {
        const docs = parseAllDocuments(await readFile(path.join(stack, PART_FILES[part]), 'utf8')).map((d) => d.toJS() as Doc);
        const deployment = docs.find((d) => d.kind === 'Deployment') as Doc;
        const [container] = deployment.spec.template.spec.containers;
        const prefix = `loomk8s-${randomBytes(3).toString('hex')}`;
        const playable = await forPodman(docs, prefix);
        const hostPort = playable.probePort;
        const file = path.join(work.dir, `${prefix}-${part}.yaml`);
        await writeFile(file, playable.docs.map((d) => stringify(d)).join('---\n'));
        played.push({ file, volumes: playable.volumes });

        const play = await execa('podman', ['kube', 'play', file], { reject: false, timeout: 120_000 });
        expect(play.exitCode, `${play.stdout}\n${play.stderr}`).toBe(0);
        const name = `${prefix}-${deployment.metadata.name}-pod-0-${container.name}`;

        // The kubelet's probes: liveness and readiness paths on the named port.
        for (const probe of [container.readinessProbe, container.livenessProbe]) {
          const answer = await waitForOk(`http://127.0.0.1:${hostPort}${probe.httpGet.path}`, 60_000);
          const logs = await execa('podman', ['logs', name], { reject: false });
          expect(answer.status, `${probe.httpGet.path}: ${answer.body}\n${logs.stdout}\n${logs.stderr}`).toBe(200);
        }

        // The config the program read is the ConfigMap's text, byte for byte.
        const [inspected] = JSON.parse((await execa('podman', ['inspect', name])).stdout) as Doc[];
        for (const mount of container.volumeMounts.filter((m: Doc) => m.readOnly)) {
          const volume = deployment.spec.template.spec.volumes.find((v: Doc) => v.name === mount.name);
          const configMap = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === volume.configMap.name) as Doc;
          const mounted = (inspected?.Mounts as Doc[]).find((m) => m.Destination === mount.mountPath);
          expect(mounted?.RW, mount.mountPath).toBe(false);
          for (const [key, text] of Object.entries(configMap.data)) {
            expect(await readFile(path.join(mounted?.Source, key), 'utf8'), `${mount.mountPath}/${key}`).toBe(text);
          }
        }
        const securityContext = container.securityContext;
        const user = deployment.spec.template.spec.securityContext.runAsUser;
        expect(inspected?.HostConfig.ReadonlyRootfs).toBe(securityContext.readOnlyRootFilesystem);
        expect(String(inspected?.Config.User).split(':')[0]).toBe(String(user));
        expect(inspected?.HostConfig.Memory).toBe(Number(/^(\d+)Mi$/.exec(container.resources.limits.memory)?.[1]) * 1024 * 1024);

        // It keeps running, and said nothing at warning level or worse about its config.
        const state = JSON.parse((await execa('podman', ['inspect', name])).stdout)[0].State;
        expect(state.Running, JSON.stringify(state)).toBe(true);
        const logs = await execa('podman', ['logs', name], { reject: false });
        const warnings = `${logs.stdout}\n${logs.stderr}`.split('\n').filter((line) => WARNING_LINE.test(line) && !IMAGE_BUILD_WARNINGS.some((known) => known.test(line)));
        expect(warnings).toEqual([]);
        await execa('podman', ['kube', 'down', file], { reject: false });
      },
      180_000,
    );
  }
});
