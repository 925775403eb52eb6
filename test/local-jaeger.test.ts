/**
 * `up --local`'s Jaeger query API: the same JSON shape as a real Jaeger (test/fixtures/jaeger), the
 * search parameters Jaeger's clients use, Jaeger's error envelopes, and a store that keeps only the newest
 * --max-traces traces however many are sent.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';
import { getJson, startLocal, stopAllLocal, type LocalRun } from './local-harness.js';

const fixture = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/jaeger/api-v1-get-trace.json'), 'utf8'));
const keys = (value: object) => Object.keys(value).sort();

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const traceIdOf = (n: number) => `${hex(0xabc000 + n, 16)}${hex(n + 1, 16)}`;

interface SpanSpec {
  service: string;
  name: string;
  trace: number;
  span: number;
  parent?: number;
  startMs?: number;
  durationMs?: number;
  attributes?: Record<string, string>;
  error?: boolean;
}

/** An OTLP/JSON request with one resource per span (fine for tests: the store groups by trace id). */
function request(specs: SpanSpec[]) {
  const nowMs = Date.now() - 10_000; // in the past, so searches ending "now" include every span
  return {
    resourceSpans: specs.map((s) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: s.service } }] },
      scopeSpans: [
        {
          spans: [
            {
              traceId: traceIdOf(s.trace),
              spanId: hex(s.span + 1, 16),
              ...(s.parent !== undefined ? { parentSpanId: hex(s.parent + 1, 16) } : {}),
              name: s.name,
              kind: 1,
              startTimeUnixNano: String(BigInt(nowMs + (s.startMs ?? 0)) * 1_000_000n),
              endTimeUnixNano: String(BigInt(nowMs + (s.startMs ?? 0) + (s.durationMs ?? 10)) * 1_000_000n),
              attributes: Object.entries(s.attributes ?? {}).map(([key, value]) => ({ key, value: { stringValue: value } })),
              ...(s.error ? { status: { code: 2, message: 'failed' } } : {}),
            },
          ],
        },
      ],
    })),
  };
}

async function send(local: LocalRun, specs: SpanSpec[]): Promise<void> {
  const response = await fetch(local.url('otlpHttp', '/v1/traces'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(request(specs)),
  });
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({});
}

describe('the Jaeger query API of up --local', () => {
  let local: LocalRun;
  beforeAll(async () => {
    local = await startLocal();
    await send(local, [
      { service: 'planner', name: 'cognitive.run', trace: 1, span: 10, durationMs: 900 },
      { service: 'planner', name: 'llm.generate', trace: 1, span: 11, parent: 10, startMs: 5, durationMs: 400, attributes: { 'llm.model': 'gpt-4o' } },
      { service: 'tools', name: 'tool.invoke', trace: 1, span: 12, parent: 10, startMs: 450, durationMs: 30, error: true },
      { service: 'planner', name: 'cognitive.run', trace: 2, span: 20, startMs: 1000, durationMs: 50 },
      { service: 'tools', name: 'tool.invoke', trace: 3, span: 30, startMs: 2000, durationMs: 5 },
    ]);
  });
  afterAll(stopAllLocal);

  it('answers /api/traces/{id} in the shape of a real Jaeger response', async () => {
    const { status, body } = await getJson(local.url('jaegerUi', `/api/traces/${traceIdOf(1)}`));
    expect(status).toBe(200);
    expect(keys(body)).toEqual(keys(fixture));
    const [trace] = body.data;
    const [fixtureTrace] = fixture.data;
    expect(keys(trace)).toEqual(keys(fixtureTrace));
    for (const span of trace.spans) expect(keys(span)).toEqual(keys(fixtureTrace.spans[0]));
    expect(keys(trace.processes.p1)).toEqual(keys(fixtureTrace.processes.p1));
    expect(keys(trace.spans[0].references[0] ?? trace.spans[1].references[0])).toEqual(keys(fixtureTrace.spans[0].references[0]));

    // Two services in one trace: two processes, each span pointing at its own.
    const services = Object.fromEntries(Object.entries<{ serviceName: string }>(trace.processes).map(([id, p]) => [id, p.serviceName]));
    expect(Object.values(services).sort()).toEqual(['planner', 'tools']);
    const tool = trace.spans.find((s: any) => s.operationName === 'tool.invoke');
    expect(services[tool.processID]).toBe('tools');
    expect(tool.tags).toEqual(
      expect.arrayContaining([
        { key: 'error', type: 'bool', value: true },
        { key: 'otel.status_description', type: 'string', value: 'failed' },
      ]),
    );
  });

  it('answers a missing trace with 404 and a malformed id with 400, in Jaeger\'s error envelope', async () => {
    const missing = await getJson(local.url('jaegerUi', `/api/traces/${'f'.repeat(32)}`));
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 404, msg: 'trace not found' }] });
    const malformed = await getJson(local.url('jaegerUi', '/api/traces/not-a-trace-id'));
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors[0].code).toBe(400);
    const badEscape = await getJson(local.url('jaegerUi', '/api/services/%E0%A4%A/operations'));
    expect(badEscape.status).toBe(400);
    expect(badEscape.body.errors[0]).toEqual({ code: 400, msg: 'malformed percent-encoding in /api/services/%E0%A4%A/operations' });
  });

  it('lists services and their operations', async () => {
    expect((await getJson(local.url('jaegerUi', '/api/services'))).body).toEqual({ data: ['planner', 'tools'], total: 2, limit: 0, offset: 0, errors: null });
    expect((await getJson(local.url('jaegerUi', '/api/services/planner/operations'))).body.data).toEqual(['cognitive.run', 'llm.generate']);
    expect((await getJson(local.url('jaegerUi', '/api/services/nobody/operations'))).body.data).toEqual([]);
  });

  it('searches by service, operation, tags, duration and limit, newest first', async () => {
    const ids = async (query: string) => (await getJson(local.url('jaegerUi', `/api/traces?${query}`))).body.data.map((t: any) => t.traceID);
    expect(await ids('service=planner')).toEqual([traceIdOf(2), traceIdOf(1)]);
    expect(await ids('service=planner&limit=1')).toEqual([traceIdOf(2)]);
    expect(await ids('service=tools&operation=tool.invoke')).toEqual([traceIdOf(3), traceIdOf(1)]);
    expect(await ids(`service=planner&tags=${encodeURIComponent('{"llm.model":"gpt-4o"}')}`)).toEqual([traceIdOf(1)]);
    expect(await ids('service=tools&tag=error:true')).toEqual([traceIdOf(1)]);
    expect(await ids('service=planner&minDuration=100ms')).toEqual([traceIdOf(1)]);
    expect(await ids('service=planner&maxDuration=100ms')).toEqual([traceIdOf(2)]);
    expect(await ids(`service=planner&end=${(Date.now() - 3_600_000) * 1000}`)).toEqual([]);
    expect(await ids(`traceID=${traceIdOf(3)}&traceID=${traceIdOf(2)}`)).toEqual([traceIdOf(3), traceIdOf(2)]);

    const noService = await getJson(local.url('jaegerUi', '/api/traces?limit=5'));
    expect(noService.status).toBe(400);
    expect(noService.body.errors).toEqual([{ code: 400, msg: "parameter 'service' is required" }]);
  });
});

describe('the trace store of up --local', () => {
  afterAll(stopAllLocal);

  it('keeps only the newest --max-traces traces, however many are sent', async () => {
    const local = await startLocal(['--max-traces', '5']);
    // 12 traces, each from its own service, sent one request at a time (oldest first).
    for (let n = 0; n < 12; n++) {
      await send(local, [
        { service: `svc-${String(n).padStart(2, '0')}`, name: 'root', trace: 100 + n, span: 1 },
        { service: `svc-${String(n).padStart(2, '0')}`, name: 'child', trace: 100 + n, span: 2, parent: 1 },
      ]);
    }
    const services = (await getJson(local.url('jaegerUi', '/api/services'))).body.data;
    expect(services).toEqual(['svc-07', 'svc-08', 'svc-09', 'svc-10', 'svc-11']);
    expect((await getJson(local.url('jaegerUi', `/api/traces/${traceIdOf(100)}`))).status).toBe(404);
    expect((await getJson(local.url('jaegerUi', `/api/traces/${traceIdOf(106)}`))).status).toBe(404);
    const newest = await getJson(local.url('jaegerUi', `/api/traces/${traceIdOf(111)}`));
    expect(newest.body.data[0].spans).toHaveLength(2);

    const stopped = await local.stop();
    expect(stopped.exitCode).toBe(0);
    expect(stopped.events.at(-1)).toMatchObject({ event: 'stopped', spansReceived: 24, tracesKept: 5, tracesEvicted: 7 });
  });
});
