/**
 * Is each part of the stack healthy, judged from the host through the probes the stack model gives it:
 * HTTP endpoints (collector health_check, Jaeger /api/services, Prometheus /-/ready, Grafana /api/health)
 * and an empty OTLP Export to the collector's gRPC port. Used by `up` (waiting), `status` and `doctor`.
 */
import http from 'node:http';
import { describeNetworkError } from '../otlp/failures.js';
import { probeOtlp } from '../otlp/probe.js';
import type { HealthProbe, PartName, StackModel, StackPart } from '../stack/model.js';
import { setTimeout as delay } from 'node:timers/promises';

export interface HealthResult {
  healthy: boolean;
  /** What was seen: the answers when healthy, the first failing probe's reason otherwise. */
  detail: string;
}

export interface PartHealth extends HealthResult {
  part: StackPart;
  /** Milliseconds after waiting began when the part turned healthy. */
  healthyAfterMs?: number;
}

export interface WaitOptions {
  timeoutMs: number;
  /** Pause between two checks of a part that is not healthy yet. */
  intervalMs?: number;
  /** Called after every check of a part. */
  onUpdate?: (health: PartHealth) => void;
  /** Stops waiting early; parts not healthy by then are reported unhealthy. */
  signal?: AbortSignal;
}

/** Longest a single probe may take, so a hung endpoint is retried rather than waited on. */
const ATTEMPT_TIMEOUT_MS = 2_000;

/** Checks every probe of one part once, all within `timeoutMs`. */
export async function checkPartHealth(part: StackPart, timeoutMs: number): Promise<HealthResult> {
  const deadline = Date.now() + timeoutMs;
  const seen: string[] = [];
  for (const probe of part.probes) {
    const result = await runProbe(part.name, probe, Math.max(1, deadline - Date.now()));
    if (!result.healthy) return result;
    seen.push(result.detail);
  }
  return { healthy: true, detail: seen.join('; ') };
}

/** Polls every part until all are healthy, the timeout passes or `signal` aborts. Never throws. */
export async function waitUntilHealthy(model: StackModel, options: WaitOptions): Promise<PartHealth[]> {
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const intervalMs = options.intervalMs ?? 500;
  return Promise.all(
    model.parts.map(async (part): Promise<PartHealth> => {
      let health: PartHealth | undefined;
      while (!options.signal?.aborted) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) break;
        const result = await checkPartHealth(part, Math.min(ATTEMPT_TIMEOUT_MS, remaining));
        // An attempt cut short by the deadline ("no answer within 1 ms") says less than the answer before it.
        if (!result.healthy && health && Date.now() >= deadline) break;
        health = { part, ...result, ...(result.healthy ? { healthyAfterMs: Date.now() - started } : {}) };
        options.onUpdate?.(health);
        if (result.healthy) break;
        await delay(Math.min(intervalMs, Math.max(0, deadline - Date.now())), undefined, { signal: options.signal }).catch(() => undefined);
      }
      return health ?? { part, healthy: false, detail: 'not checked yet' };
    }),
  );
}

async function runProbe(part: PartName, probe: HealthProbe, timeoutMs: number): Promise<HealthResult> {
  if (probe.kind === 'otlp-grpc') {
    const result = await probeOtlp({ url: probe.url, protocol: 'grpc', tls: false, timeoutMs });
    return result.ok
      ? { healthy: true, detail: `OTLP gRPC ${hostOf(probe.url)}: an empty Export was answered OK` }
      : { healthy: false, detail: `OTLP gRPC ${hostOf(probe.url)}: ${result.failure?.cause ?? 'the empty Export failed'}` };
  }
  const answer = await httpGet(probe.url, timeoutMs);
  if ('error' in answer) return { healthy: false, detail: `GET ${probe.url}: ${answer.error}` };
  const problem = judgeAnswer(part, answer.status, answer.body);
  return problem
    ? { healthy: false, detail: `GET ${probe.url}: ${problem} (expected ${probe.expect})` }
    : { healthy: true, detail: `GET ${probe.url}: ${answer.status}` };
}

/** Why an HTTP answer is not a healthy one, or undefined when it is. */
function judgeAnswer(part: PartName, status: number, body: string): string | undefined {
  const line = body.replace(/\s+/g, ' ').trim();
  if (status !== 200) return `answered ${status}${line ? ` ${line.slice(0, 120)}` : ''}`;
  const json = parseJson(body);
  if (part === 'jaeger' && !(json && 'data' in json)) return 'answered 200 without a JSON list of services';
  if (part === 'grafana' && json?.database !== 'ok') {
    return `answered 200 with database ${json && 'database' in json ? JSON.stringify(json.database) : 'missing'}`;
  }
  return undefined;
}

function parseJson(body: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(body) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** One GET, never throwing: the status, headers and (at most 64 KiB of) body, or why there was no answer. */
export function httpGet(
  url: string,
  timeoutMs: number,
  headers: Readonly<Record<string, string>> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string } | { error: string }> {
  return new Promise((resolve) => {
    // One deadline for the whole exchange: Node's `timeout` is an idle timer, which a trickling peer resets.
    const timer = setTimeout(() => {
      request.destroy();
      resolve({ error: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    const done = (answer: Awaited<ReturnType<typeof httpGet>>) => {
      clearTimeout(timer);
      resolve(answer);
    };
    const request = http.get(url, { headers: { accept: 'application/json', ...headers } }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        // A health answer is small; keep at most 64 KiB of whatever answered.
        if (size < 65_536) chunks.push(chunk);
        size += chunk.length;
      });
      response.on('end', () => done({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', (error) => done({ error: error.message }));
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      done({ error: describeNetworkError(error, { url, protocol: 'http/protobuf', timeoutMs }).cause });
    });
  });
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

