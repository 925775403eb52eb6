/**
 * The API routes the viewer of `up --local` adds next to Jaeger's: /api/dependencies as Jaeger serves
 * it, the paged search of summaries (/api/loom/search) and the agents dashboard's series
 * (/api/loom/agent-metrics), against the real process, with bad parameters answered as Jaeger does (400).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startLocal, type LocalRun } from './local-harness.js';

let local: LocalRun;
const now = Date.now();

type Attr = [string, string | number];
function span(traceId: string, id: string, parent: string | undefined, name: string, agoMs: number, ms: number, attributes: Attr[] = [], error = false) {
  const start = BigInt(now - agoMs) * 1_000_000n;
  return {
    traceId,
    spanId: id.repeat(8),
    ...(parent ? { parentSpanId: parent.repeat(8) } : {}),
    name,
    startTimeUnixNano: String(start),
    endTimeUnixNano: String(start + BigInt(ms) * 1_000_000n),
    attributes: attributes.map(([key, value]) => ({ key, value: typeof value === 'string' ? { stringValue: value } : { intValue: String(value) } })),
    ...(error ? { status: { code: 2 } } : {}),
  };
}

async function send(service: string, spans: unknown[]): Promise<void> {
  const body = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ spans }] }] };
  const response = await fetch(local.url('otlpHttp', '/v1/traces'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
}

const T = (n: number) => n.toString(16).padStart(32, '0');

beforeAll(async () => {
  local = await startLocal(['--quiet']);
  // 25 GenAI agent traces a minute ago, one with a failed chat; each calls a tool served by `tools`.
  for (let i = 1; i <= 25; i++) {
    await send('genai-agent', [
      span(T(i), '01', undefined, 'invoke_agent planner', 60_000 - i * 100, 900, [['gen_ai.agent.name', 'planner']]),
      span(T(i), '02', '01', 'chat gpt-4o', 60_000 - i * 100, 300, [['gen_ai.request.model', 'gpt-4o'], ['gen_ai.usage.input_tokens', 100], ['gen_ai.usage.output_tokens', 20]], i === 7),
      span(T(i), '03', '01', 'execute_tool search', 60_000 - i * 100 - 400, 200, [['gen_ai.tool.name', 'search']]),
    ]);
    await send('tools', [span(T(i), '04', '03', 'search.run', 60_000 - i * 100 - 410, 150)]);
  }
  // One trace of a day and a half ago.
  await send('genai-agent', [span(T(99), '01', undefined, 'invoke_agent planner', 36 * 3600_000, 900)]);
});
afterAll(async () => {
  await local?.stop();
});

describe('GET /api/dependencies (Jaeger\'s shape)', () => {
  it('counts calls between services in the window; endTs and lookback move it', async () => {
    const all = await getJson(local.url('jaegerUi', '/api/dependencies'));
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ data: [{ parent: 'genai-agent', child: 'tools', callCount: 25 }], errors: null });
    const before = await getJson(local.url('jaegerUi', `/api/dependencies?endTs=${now - 3600_000}&lookback=${3600_000}`));
    expect(before.body.data).toEqual([]);
    const bad = await getJson(local.url('jaegerUi', '/api/dependencies?lookback=1h'));
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].msg).toContain("unable to parse param 'lookback'");
  });
});

describe('GET /api/loom/search (the viewer\'s search)', () => {
  it('searches every service without `service`, pages with offset/pageSize, and plots every match', async () => {
    const page = await getJson(local.url('jaegerUi', '/api/loom/search?lookback=1h&pageSize=10&offset=20'));
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ total: 25, offset: 20, pageSize: 10 });
    expect(page.body.traces.map((t: { traceID: string }) => t.traceID)).toEqual([5, 4, 3, 2, 1].map(T)); // newest first
    expect(page.body.points).toHaveLength(25);
    expect(page.body.traces[0]).toEqual({
      traceID: T(5),
      service: 'genai-agent',
      operation: 'invoke_agent planner',
      startTime: expect.any(Number),
      duration: 900_000,
      spans: 4,
      errors: 0,
      services: [
        { name: 'genai-agent', spans: 3 },
        { name: 'tools', spans: 1 },
      ],
    });
  });

  it('takes Jaeger\'s parameters: tags (error=true), operation, durations, lookback, limit, traceID', async () => {
    const search = async (query: string) => (await getJson(local.url('jaegerUi', `/api/loom/search?${query}`))).body;
    expect((await search(`tags=${encodeURIComponent('{"error":"true"}')}`)).traces.map((t: { traceID: string }) => t.traceID)).toEqual([T(7)]);
    expect((await search('service=tools&operation=search.run')).total).toBe(25);
    expect((await search('service=tools&minDuration=151ms')).total).toBe(0);
    expect((await search('service=genai-agent&lookback=48h')).total).toBe(26);
    expect((await search('limit=3')).total).toBe(3);
    expect((await search(`traceID=${T(99)}&traceID=${T(3)}`)).traces.map((t: { traceID: string }) => t.traceID)).toEqual([T(99), T(3)]);
    const bad = await getJson(local.url('jaegerUi', '/api/loom/search?minDuration=fast'));
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].msg).toContain('invalid duration "fast"');
    expect((await getJson(local.url('jaegerUi', '/api/loom/search?offset=-1'))).status).toBe(400);
  });
});

describe('GET /api/loom/agent-metrics (the metrics page)', () => {
  it('computes the dashboard panels from GenAI spans: runs, LLM calls, error rate and tokens by model, tools', async () => {
    const { status, body } = await getJson(local.url('jaegerUi', '/api/loom/agent-metrics?lookback=5m&step=1m'));
    expect(status).toBe(200);
    expect(body.timestamps).toHaveLength(5);
    expect(body.stepSeconds).toBe(60);
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    expect(sum(body.agentRunsPerSecond.planner) * 60).toBeCloseTo(25);
    expect(sum(body.llmCallsPerSecond['gpt-4o']) * 60).toBeCloseTo(25);
    expect(sum(body.tokensPerSecond['gpt-4o']) * 60).toBeCloseTo(25 * 120);
    expect(sum(body.toolCallsPerSecond.search) * 60).toBeCloseTo(25);
    expect(sum(body.toolErrorsPerSecond.search)).toBe(0);
    const errorRates = (body.llmErrorRate['gpt-4o'] as Array<number | null>).filter((v) => v !== null);
    expect(errorRates.some((v) => v! > 0)).toBe(true);
    expect(Math.max(...(body.agentRunP95Ms.planner as Array<number | null>).filter((v): v is number => v !== null))).toBe(900);
    const bad = await getJson(local.url('jaegerUi', '/api/loom/agent-metrics?step=10ms'));
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].msg).toContain("param 'step' must be a duration of 1s or more");
  });
});
