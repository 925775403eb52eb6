/**
 * The trace viewer of `up --local`, used in Debian's Chromium through Playwright (playwright-core) the
 * way a person uses it: search by each field (the state in the URL under Jaeger UI's parameter names),
 * open a result, collapse a subtree, find the one error trace among 2,000, see the service graph edge,
 * and see each chart of the metrics page draw its series. Screenshots go to test-artifacts/viewer/.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from './helpers/cli.js';
import { requireTool } from './helpers/validators.js';
import { startLocal, type LocalRun } from './local-harness.js';

const hasChromium = requireTool('chromium', 'apt-get install chromium');
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'viewer');

/** The hand-made trace: an agent with Loom's llm.* and GenAI gen_ai.* spans, a tool, and loom-core. */
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const STACK_TRACE = 'Traceback (most recent call last):\n  File "agent.py", line 12, in run\nToolError: search timed out';
const LOAD_TRACES = 1999;

type Attr = [string, string | number | boolean];
const attrs = (list: Attr[]) =>
  list.map(([key, value]) => ({
    key,
    value: typeof value === 'string' ? { stringValue: value } : typeof value === 'boolean' ? { boolValue: value } : Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value },
  }));

const OLD_TRACE_ID = '0af7651916cd43dd8448eb211c80319c';

/** A trace of `old-agent` that started two hours ago: inside a 6-hour lookback, outside a 1-hour one. */
async function sendOldTrace(local: LocalRun): Promise<void> {
  const start = BigInt(Date.now() - 2 * 3600_000) * 1_000_000n;
  const body = {
    resourceSpans: [
      {
        resource: { attributes: attrs([['service.name', 'old-agent']]) },
        scopeSpans: [{ spans: [{ traceId: OLD_TRACE_ID, spanId: '0a'.repeat(8), name: 'cognitive.run', startTimeUnixNano: String(start), endTimeUnixNano: String(start + 500_000_000n) }] }],
      },
    ],
  };
  const response = await fetch(local.url('otlpHttp', '/v1/traces'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
}

async function sendHandmadeTrace(local: LocalRun): Promise<void> {
  const start = BigInt(Date.now() - 30_000) * 1_000_000n;
  const span = (id: string, parent: string | undefined, name: string, fromMs: number, ms: number, attributes: Attr[] = [], error = false) => ({
    traceId: TRACE_ID,
    spanId: id.repeat(8),
    ...(parent ? { parentSpanId: parent.repeat(8) } : {}),
    name,
    startTimeUnixNano: String(start + BigInt(fromMs) * 1_000_000n),
    endTimeUnixNano: String(start + BigInt(fromMs + ms) * 1_000_000n),
    attributes: attrs(attributes),
    ...(error ? { status: { code: 2, message: 'failed' } } : {}),
  });
  const resource = (service: string) => ({ attributes: attrs([['service.name', service]]) });
  const body = {
    resourceSpans: [
      {
        resource: resource('viewer-agent'),
        scopeSpans: [
          {
            spans: [
              span('01', undefined, 'cognitive.run', 0, 1000, [['agent.id', 'planner'], ['iterations', 2], ['success', true]]),
              span('02', '01', 'llm.generate', 50, 400, [['llm.model', 'deepseek-chat'], ['llm.provider', 'https://api.deepseek.com/v1'], ['llm.usage.prompt_tokens', 120], ['llm.usage.completion_tokens', 45]]),
              span('03', '01', 'chat gpt-4o', 460, 200, [['gen_ai.operation.name', 'chat'], ['gen_ai.request.model', 'gpt-4o'], ['gen_ai.provider.name', 'openai'], ['gen_ai.usage.input_tokens', 300], ['gen_ai.usage.output_tokens', 80]], true),
              span('04', '01', 'tool.invoke', 700, 250, [['tool.name', 'web:search'], ['tool.status', 'TOOL_ERROR'], ['exception.stacktrace', STACK_TRACE]], true),
            ],
          },
        ],
      },
      { resource: resource('loom-core'), scopeSpans: [{ spans: [span('05', '04', 'bridge.publish', 710, 200)] }] },
    ],
  };
  const response = await fetch(local.url('otlpHttp', '/v1/traces'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
}

let local: LocalRun;
let context: BrowserContext;
let page: Page;
let profile: string;
let errorTraceId: string;

async function open(pathAndQuery: string, ready = 'search'): Promise<void> {
  await page.goto(local.url('jaegerUi', pathAndQuery));
  await page.waitForSelector(`body[data-ready="${ready}"]`);
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** After an in-page navigation: the URL changed, then the page drew. */
async function navigated(url: RegExp, ready = 'search'): Promise<void> {
  await page.waitForURL(url);
  await page.waitForSelector(`body[data-ready="${ready}"]`);
}

const rowIds = () => page.$$eval('#results tbody tr', (rows) => rows.map((r) => r.getAttribute('data-trace-id')));
const resultStatus = () => page.textContent('#result-status');
const params = () => Object.fromEntries(new URL(page.url()).searchParams);

describe.runIf(hasChromium)('the viewer of up --local in Chromium (Playwright)', () => {
  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    local = await startLocal(['--quiet']);
    await sendHandmadeTrace(local);
    await sendOldTrace(local);
    const load = await runCli(['send-test-trace', '--endpoint', local.url('otlpGrpc'), '--count', String(LOAD_TRACES), '--concurrency', '2'], { timeout: 180_000 });
    expect(load.exitCode, load.stderr).toBe(0);
    const failed = await runCli(['--json', 'send-test-trace', '--endpoint', local.url('otlpGrpc'), '--jaeger-url', local.url('jaegerUi'), '--error']);
    expect(failed.exitCode, failed.stderr).toBe(0);
    errorTraceId = JSON.parse(failed.stdout).traceId;
    profile = await mkdtemp(path.join(tmpdir(), 'loom-otel-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      viewport: { width: 1280, height: 800 },
      acceptDownloads: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
  }, 240_000);

  afterAll(async () => {
    await context?.close();
    await local?.stop();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it('searches by service, operation, tags, lookback, min/max duration, limit, errors only and trace id, with Jaeger UI URL parameters', async () => {
    await open('/search');
    expect(await resultStatus()).toMatch(/^1500 traces found \(the limit/);

    await page.selectOption('#f-service', 'viewer-agent');
    await navigated(/service=viewer-agent/);
    expect(await rowIds()).toEqual([TRACE_ID]);

    await page.selectOption('#f-operation', 'chat gpt-4o');
    await page.click('#f-submit');
    await navigated(/operation=chat\+gpt-4o/);
    expect(params()).toMatchObject({ service: 'viewer-agent', operation: 'chat gpt-4o', lookback: '1h', limit: '1500' });
    expect(await rowIds()).toEqual([TRACE_ID]);

    // Tags in logfmt, as Jaeger UI's box takes them; the URL carries them as JSON. As in Jaeger, one span must have them all.
    await open('/search');
    await page.fill('#f-tags', 'gen_ai.request.model=gpt-4o gen_ai.provider.name="openai"');
    await page.click('#f-submit');
    await navigated(/tags=/);
    expect(JSON.parse(params().tags!)).toEqual({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai' });
    expect(await rowIds()).toEqual([TRACE_ID]);

    // Durations: the hand-made trace has a 1 s root; the Loom test traces run about 2 s.
    await open('/search?service=viewer-agent&operation=cognitive.run&minDuration=900ms&maxDuration=1.1s&lookback=15m');
    expect(await page.inputValue('#f-min')).toBe('900ms');
    expect(await page.inputValue('#f-lookback')).toBe('15m');
    expect(await rowIds()).toEqual([TRACE_ID]);
    await open('/search?service=viewer-agent&minDuration=1.5s');
    expect(await resultStatus()).toMatch(/^No traces match/);
    await open('/search?service=loom-test-agent&maxDuration=1ms&operation=cognitive.run');
    expect(await resultStatus()).toMatch(/^No traces match/);
    await open('/search?lookback=5m&service=viewer-agent');
    expect(await rowIds()).toEqual([TRACE_ID]);
    await open('/search?service=old-agent');
    expect(await resultStatus()).toMatch(/^No traces match/); // the form's default lookback: the last hour
    await page.selectOption('#f-lookback', '6h');
    await page.click('#f-submit');
    await navigated(/lookback=6h/);
    expect(await rowIds()).toEqual([OLD_TRACE_ID]);

    await page.fill('#f-limit', '7');
    await page.selectOption('#f-service', '');
    await navigated(/limit=7/);
    expect(await resultStatus()).toMatch(/^7 traces found/);
    expect(await rowIds()).toHaveLength(7);

    await open('/search');
    await page.fill('#f-trace-id', TRACE_ID);
    await page.click('#f-submit');
    await navigated(new RegExp(`traceID=${TRACE_ID}`));
    expect(await rowIds()).toEqual([TRACE_ID]);
    await shot('search-trace-id');
  });

  it('finds the one error trace among 2,000 with "errors only", pages through the rest, and plots durations', async () => {
    await open('/search?service=loom-test-agent&lookback=1h&limit=3000');
    expect(await resultStatus()).toBe(`${LOAD_TRACES + 1} traces found`);
    expect(await page.textContent('#page-info')).toBe(`1–20 of ${LOAD_TRACES + 1} traces`);
    expect(await page.$$eval('#scatter circle.dot', (dots) => dots.length)).toBe(LOAD_TRACES + 1);
    expect(await page.$$eval('#scatter circle.dot.error', (dots) => dots.map((d) => d.getAttribute('data-trace-id')))).toEqual([errorTraceId]);
    const firstPage = await rowIds();
    await page.click('text=older →');
    await navigated(/offset=20/);
    expect(await page.textContent('#page-info')).toBe(`21–40 of ${LOAD_TRACES + 1} traces`);
    const secondPage = await rowIds();
    expect(secondPage).toHaveLength(20);
    expect(secondPage.filter((id) => firstPage.includes(id))).toEqual([]);
    // Dates on every row.
    expect(await page.$$eval('#results td.when', (cells) => cells.every((c) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(c.textContent ?? '')))).toBe(true);

    await open('/search?service=loom-test-agent&lookback=1h&limit=3000');
    await page.check('#f-errors');
    await page.click('#f-submit');
    await navigated(/tags=/);
    expect(JSON.parse(params().tags!)).toEqual({ error: 'true' });
    expect(await rowIds()).toEqual([errorTraceId]);
    expect(await page.textContent('#results tbody tr .err')).toBe('✖ 3');
    await shot('search-errors-only');
  });

  it('opens a result: the trace page with a time ruler, service colours, offsets, LLM/agent/tool glances, multi-line values and a JSON download', async () => {
    await open('/search?service=viewer-agent');
    await page.click(`#results tr[data-trace-id="${TRACE_ID}"] td:nth-child(2) a`);
    await navigated(new RegExp(`/trace/${TRACE_ID}$`), 'trace');
    expect(await page.textContent('#trace-title')).toBe('viewer-agent: cognitive.run');
    expect(await page.$$eval('.ruler .tick', (ticks) => ticks.map((t) => t.textContent))).toEqual(['0µs', '250ms', '500ms', '750ms', '1.00s']);
    const row = (id: string) => page.locator(`.row[data-span-id="${id.repeat(8)}"]`);
    expect(await row('02').locator('.glance').textContent()).toBe('deepseek-chat · https://api.deepseek.com/v1 · 120 → 45 tokens');
    expect(await row('03').locator('.glance').textContent()).toBe('gpt-4o · openai · 300 → 80 tokens');
    expect(await row('01').locator('.glance').textContent()).toBe('planner · 2 iterations · succeeded');
    expect(await row('04').locator('.glance').textContent()).toBe('web:search · status TOOL_ERROR');
    expect(await row('04').locator('.dur').textContent()).toBe('+700ms 250ms');
    // One colour per service, on the bar and the service name.
    type Styles = { getComputedStyle: (element: unknown) => { backgroundColor: string } };
    const barColor = (id: string) => row(id).locator('.bar').evaluate((bar) => (globalThis as unknown as Styles).getComputedStyle(bar).backgroundColor);
    expect(await barColor('01')).toBe(await barColor('02'));
    expect(await barColor('05')).not.toBe(await barColor('01'));
    // Multi-line values as written.
    await row('04').locator('.op').click();
    const value = page.locator('.details td.key', { hasText: 'exception.stacktrace' }).locator('xpath=following-sibling::td/pre');
    expect(await value.evaluate((pre) => (pre as unknown as { innerText: string }).innerText)).toBe(STACK_TRACE);
    await shot('trace');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-json')]);
    expect(download.suggestedFilename()).toBe(`trace-${TRACE_ID}.json`);
    const json = JSON.parse(await readFile((await download.path())!, 'utf8'));
    expect(json.data[0].traceID).toBe(TRACE_ID);
    expect(json.data[0].spans).toHaveLength(5);
  });

  it('a trace id that is not stored says so and links back to the search', async () => {
    await open(`/trace/${'f'.repeat(32)}`, 'trace');
    expect(await page.textContent('#trace-missing')).toBe(`Trace ${'f'.repeat(32)}: trace not found. Spans can take a moment to arrive; reload to try again.`);
    await page.click('text=Back to the search');
    await navigated(/\/search$/);
  });

  it('collapses and expands a subtree', async () => {
    await open(`/trace/${TRACE_ID}`, 'trace');
    const visible = () => page.$$eval('#waterfall .row[data-span-id]', (rows) => rows.filter((r) => !(r as unknown as { hidden: boolean }).hidden).map((r) => r.querySelector('.op')?.textContent));
    expect(await visible()).toEqual(['cognitive.run', 'llm.generate', 'chat gpt-4o', 'tool.invoke', 'bridge.publish']);
    await page.click('.row[data-span-id="0404040404040404"] .toggle');
    expect(await visible()).toEqual(['cognitive.run', 'llm.generate', 'chat gpt-4o', 'tool.invoke']);
    expect(await page.getAttribute('.row[data-span-id="0404040404040404"] .toggle', 'aria-expanded')).toBe('false');
    await page.click('.row[data-span-id="0101010101010101"] .toggle');
    expect(await visible()).toEqual(['cognitive.run']);
    await page.click('#expand-all');
    expect(await visible()).toHaveLength(5);
  });

  it('draws the service graph from /api/dependencies, with the agent → loom-core edge', async () => {
    const api = (await (await fetch(local.url('jaegerUi', '/api/dependencies'))).json()) as { data: Array<{ parent: string; child: string; callCount: number }> };
    expect(api.data).toEqual([
      { parent: 'loom-test-agent', child: 'loom-core', callCount: 3 * (LOAD_TRACES + 1) },
      { parent: 'viewer-agent', child: 'loom-core', callCount: 1 },
    ]);
    await open('/dependencies', 'dependencies');
    const edge = page.locator('#graph .edge[data-parent="loom-test-agent"][data-child="loom-core"]');
    expect(await edge.locator('text').textContent()).toBe(String(3 * (LOAD_TRACES + 1)));
    const box = await edge.locator('line').boundingBox();
    expect(box!.width).toBeGreaterThan(50);
    expect(await page.$$eval('#graph .node', (nodes) => nodes.map((n) => n.getAttribute('data-service')).sort())).toEqual(['loom-core', 'loom-test-agent', 'viewer-agent']);
    await shot('service-graph');
  });

  it('draws every chart of the agents dashboard with a non-empty series', async () => {
    await open('/metrics', 'metrics');
    const panels = await page.$$eval('.chart', (charts) =>
      charts.map((chart) => {
        // Coloured pixels on the chart's canvas: series strokes (grid and axes are grey).
        const canvas = chart.querySelector('canvas');
        let coloured = 0;
        if (canvas) {
          const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
          for (let i = 0; i < data.length; i += 4) {
            const [r, g, b, a] = [data[i]!, data[i + 1]!, data[i + 2]!, data[i + 3]!];
            if (a > 200 && Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
          }
        }
        return { panel: chart.getAttribute('data-panel'), series: Number(chart.getAttribute('data-series')), values: Number(chart.getAttribute('data-values')), coloured };
      }),
    );
    expect(panels.map((p) => p.panel)).toEqual([
      'agentRunsPerSecond',
      'agentRunP95Ms',
      'llmCallsPerSecond',
      'llmLatencyP95Ms',
      'llmErrorRate',
      'tokensPerSecond',
      'toolCallsPerSecond',
      'toolErrorsPerSecond',
    ]);
    for (const p of panels) {
      expect(p.series, p.panel!).toBeGreaterThan(0);
      expect(p.values, p.panel!).toBeGreaterThan(0);
      expect(p.coloured, p.panel!).toBeGreaterThan(20); // a 6 px point is about 28 pixels
    }
    // The models of both spellings have their own series.
    const legend = await page.$$eval('.chart[data-panel="tokensPerSecond"] .u-legend .u-label', (labels) => labels.map((l) => l.textContent));
    expect(legend).toEqual(expect.arrayContaining(['deepseek-chat', 'gpt-4o']));
    await shot('metrics');
  });
});
