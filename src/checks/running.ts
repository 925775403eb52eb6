/**
 * Is each running part of the stack healthy? The part probes come from ./health.ts (shared with `up`);
 * on top, Prometheus must have its scrape targets up and Grafana its datasources working.
 */
import path from 'node:path';
import { redact, rememberSecrets } from '../output/redact.js';
import { readStackFile } from '../stack/confine.js';
import type { FoundStack } from '../stack/manifest.js';
import { ENV_FILE, GRAFANA_ADMIN_USER, GRAFANA_USER_VAR, passwordFromEnvFile, valueFromEnvFile } from '../stack/render/env.js';
import { CONTAINER_PORTS, SERVICE_NAMES, type PartName, type StackPart } from '../stack/model.js';
import { PROMETHEUS_CONFIG_FILE } from '../stack/render/prometheus.js';
import { checkPartHealth, httpGet, type HealthResult } from './health.js';
import { LOCAL_STACK_PARTS, NOT_SERVED_LOCALLY } from './local-stack.js';
import { fail, info, pass, skip, warn, type CheckResult } from './types.js';

export interface RunningParts {
  checks: CheckResult[];
  /** Parts that answered healthy. */
  healthy: Set<PartName>;
}

/**
 * `running` lists the compose services the engine reports running, when it could be asked. A part that
 * is neither healthy nor running is "not running": skipped when the whole stack is down, failed otherwise.
 * `servedLocally` tells whether `up --local` serves the stack: then the parts it lacks are skipped and
 * the engine is not waited for.
 */
export async function checkRunningParts(stack: FoundStack, timeoutMs: number, running: Promise<Set<string> | undefined>, servedLocally: Promise<boolean>): Promise<RunningParts> {
  const deadline = Date.now() + timeoutMs;
  const results = await Promise.all(
    stack.model.parts.map(async (part) => {
      // Probed while the detection runs, so knowing who serves the stack costs no extra time.
      const [health, local] = await Promise.all([checkPartHealth(part, timeoutMs), servedLocally]);
      const served = !local || LOCAL_STACK_PARTS.has(part.name);
      const extra = served && health.healthy ? await extraChecks(stack, part, Math.max(1, deadline - Date.now())) : [];
      return { part, health, served, extra };
    }),
  );
  if (await servedLocally) return locallyServedParts(stack, results);
  const services = await running;
  const healthy = new Set(results.filter((r) => r.health.healthy).map((r) => r.part.name));
  const anyUp = healthy.size > 0 || stack.model.parts.some((p) => services?.has(p.service));
  if (!anyUp) {
    return { checks: [skip('running', 'Parts healthy', `the stack is not running (no part answers; ${results[0]?.health.detail ?? ''}): start it with \`loom-otel up --dir ${stack.dir}\``)], healthy };
  }
  const checks: CheckResult[] = [];
  for (const { part, health, extra } of results) {
    const id = `running.${part.name}`;
    const title = `${part.name} healthy`;
    if (health.healthy) {
      checks.push(pass(id, title, health.detail), ...extra);
    } else {
      const containerRuns = services?.has(part.service);
      checks.push(fail(id, title, health.detail, containerRuns === false ? `Its container is not running: \`loom-otel up --dir ${stack.dir}\` starts it; \`docker compose logs ${part.service}\` tells why it stopped.` : `Look at its logs: docker compose logs ${part.service} (in ${stack.dir}).`));
    }
  }
  return { checks, healthy };
}

type PartResult = { part: StackPart; health: HealthResult; served: boolean; extra: CheckResult[] };

/** The parts as `up --local` serves them: no containers, so a part that does not answer is its problem. */
function locallyServedParts(stack: FoundStack, results: PartResult[]): RunningParts {
  const checks: CheckResult[] = [info('stack.local', 'Served by', '`loom-otel up --local`, in-process: the collector and the Jaeger query API; no containers')];
  const healthy = new Set<PartName>();
  for (const { part, health, served, extra } of results) {
    const id = `running.${part.name}`;
    const title = `${part.name} healthy`;
    if (!served) {
      checks.push(skip(id, title, NOT_SERVED_LOCALLY));
    } else if (health.healthy) {
      healthy.add(part.name);
      checks.push(pass(id, title, health.detail), ...extra);
    } else {
      // Its health check answered, so the process runs: the usual cause is a port flag overriding the manifest.
      checks.push(fail(id, title, health.detail, `Port flags given to \`loom-otel up --local\` override the ports in ${stack.manifestPath}: restart it without them.`));
    }
  }
  return { checks, healthy };
}

async function extraChecks(stack: FoundStack, part: StackPart, timeoutMs: number): Promise<CheckResult[]> {
  if (part.name === 'prometheus') return [await scrapeTargets(part, timeoutMs)];
  if (part.name === 'grafana') return grafanaDatasources(stack, part, timeoutMs);
  return [];
}

interface TargetsAnswer {
  data?: { activeTargets?: Array<{ labels?: Record<string, string>; scrapeUrl?: string; health?: string; lastError?: string }> };
}

async function scrapeTargets(part: StackPart, timeoutMs: number): Promise<CheckResult> {
  const title = 'Prometheus scrape targets up';
  const url = new URL('/api/v1/targets?state=active', part.uiUrl).toString();
  const answer = await getJson<TargetsAnswer>(url, timeoutMs);
  if ('error' in answer) return fail('running.prometheus-targets', title, `GET ${url}: ${answer.error}`, 'Look at Prometheus: docker compose logs prometheus.');
  const targets = answer.body?.data?.activeTargets ?? [];
  if (targets.length === 0) return fail('running.prometheus-targets', title, 'Prometheus has no active scrape targets', `Check ${PROMETHEUS_CONFIG_FILE}: it should scrape ${SERVICE_NAMES.collector}:${CONTAINER_PORTS.collectorMetrics}.`);
  const down = targets.filter((t) => t.health === 'down');
  const unknown = targets.filter((t) => t.health !== 'down' && t.health !== 'up');
  const name = (t: (typeof targets)[number]) => `${t.labels?.job ?? '?'} (${t.scrapeUrl ?? '?'})`;
  if (down.length > 0) {
    return fail('running.prometheus-targets', title, `down: ${down.map((t) => `${name(t)}: ${t.lastError || 'no error given'}`).join('; ')}`, `The scraped part is not serving metrics there: check its port in ${PROMETHEUS_CONFIG_FILE} and the collector config.`);
  }
  if (unknown.length > 0) return info('running.prometheus-targets', title, `${targets.length - unknown.length} up; not scraped yet: ${unknown.map(name).join(', ')}`);
  return pass('running.prometheus-targets', title, `${targets.length} up: ${targets.map((t) => t.labels?.job ?? '?').join(', ')}`);
}

/** Grafana's datasources, each through its health API. Needs a login: the stack's own .env has it. */
async function grafanaDatasources(stack: FoundStack, part: StackPart, timeoutMs: number): Promise<CheckResult[]> {
  const title = 'Grafana datasources work';
  const id = 'running.grafana-datasources';
  const base = part.uiUrl ?? '';
  // Up to three requests one after another: together they get doctor's timeout, not three of it.
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(1, deadline - Date.now());
  let auth: string | undefined;
  let list = await getJson<Array<{ uid?: string; name?: string; type?: string }>>(new URL('/api/datasources', base).toString(), left());
  if (!('error' in list) && (list.status === 401 || list.status === 403)) {
    let envText = '';
    try {
      envText = readStackFile(path.join(stack.dir, ENV_FILE)) ?? '';
    } catch {
      // unreadable, or not a regular file: no password to offer
    }
    const password = passwordFromEnvFile(envText);
    if (!password) return [skip(id, title, `Grafana needs a login and ${ENV_FILE} in ${stack.dir} has no admin password`)];
    const user = valueFromEnvFile(envText, GRAFANA_USER_VAR) || GRAFANA_ADMIN_USER;
    auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    rememberSecrets([auth, password]);
    list = await getJson(new URL('/api/datasources', base).toString(), left(), auth);
    if (!('error' in list) && list.status === 401) {
      return [skip(id, title, `Grafana did not accept the admin login from ${ENV_FILE} (was the password changed in Grafana?)`)];
    }
  }
  // Grafana's messages are a peer's words: the login we sent is removed from them.
  const said = (message: unknown) => redact(String(message));
  if ('error' in list) return [fail(id, title, list.error, 'Look at Grafana: docker compose logs grafana.')];
  if (list.status !== 200 || !Array.isArray(list.body)) return [warn(id, title, `GET /api/datasources answered ${list.status}`, 'Look at Grafana: docker compose logs grafana.')];
  if (list.body.length === 0) return [fail(id, title, 'Grafana has no datasources', `Its provisioning file is not mounted: run \`loom-otel init --dir ${stack.dir}\` again.`)];
  const checks = await Promise.all(
    list.body.map(async (ds) => {
      const health = await getJson<{ status?: string; message?: string }>(new URL(`/api/datasources/uid/${encodeURIComponent(ds.uid ?? '')}/health`, base).toString(), left(), auth);
      const label = `${ds.name ?? ds.uid} (${ds.type ?? '?'})`;
      if ('error' in health) return fail(`${id}.${ds.uid}`, `Grafana datasource ${label}`, health.error, 'Look at Grafana: docker compose logs grafana.');
      if (health.status === 200 && health.body?.status === 'OK') return pass(`${id}.${ds.uid}`, `Grafana datasource ${label}`, said(health.body.message ?? 'OK'));
      return fail(`${id}.${ds.uid}`, `Grafana datasource ${label}`, `health check answered ${health.status}: ${said(health.body?.message ?? 'no message')}`, 'The datasource cannot reach its backend: check that the part it points at runs and its URL in the provisioning file.');
    }),
  );
  return checks;
}

/** A GET whose body is read as JSON (undefined when it is not JSON). */
async function getJson<T>(url: string, timeoutMs: number, authorization?: string): Promise<{ status: number; body: T | undefined } | { error: string }> {
  const answer = await httpGet(url, timeoutMs, authorization ? { authorization } : {});
  if ('error' in answer) return answer;
  try {
    return { status: answer.status, body: JSON.parse(answer.body) as T };
  } catch {
    return { status: answer.status, body: undefined };
  }
}
