/**
 * Whether this process runs inside a container, where `localhost` is the container itself and not the
 * host or the collector next to it.
 */
import { access, readFile } from 'node:fs/promises';

export interface ContainerContext {
  inContainer: boolean;
  /** How it was decided: a flag, or the evidence found (or not found). */
  evidence: string;
}

const CGROUP_MARKERS = /docker|kubepods|containerd|libpod|lxc|podman/;

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** `flag` (--in-container / --no-in-container) wins; otherwise the usual markers are looked for. */
export async function detectContainer(flag: boolean | undefined, env: NodeJS.ProcessEnv = process.env): Promise<ContainerContext> {
  if (flag !== undefined) return { inContainer: flag, evidence: flag ? 'flag --in-container' : 'flag --no-in-container' };
  if (await exists('/.dockerenv')) return { inContainer: true, evidence: '/.dockerenv exists (Docker)' };
  if (await exists('/run/.containerenv')) return { inContainer: true, evidence: '/run/.containerenv exists (Podman)' };
  if (env.KUBERNETES_SERVICE_HOST) return { inContainer: true, evidence: 'KUBERNETES_SERVICE_HOST is set (a Kubernetes pod)' };
  const cgroup = await readFile('/proc/1/cgroup', 'utf8').catch(() => '');
  const marker = CGROUP_MARKERS.exec(cgroup)?.[0];
  if (marker) return { inContainer: true, evidence: `/proc/1/cgroup names ${marker}` };
  return { inContainer: false, evidence: 'no container markers (/.dockerenv, /run/.containerenv, cgroup)' };
}
