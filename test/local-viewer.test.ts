/**
 * The trace viewer of `up --local`, loaded in headless Chromium the way a person opens it: the list page
 * shows the trace, the trace page draws its spans as a waterfall (checked in the rendered DOM and in the
 * pixels of a screenshot: a blue bar per span and a red one for the failed span).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { execa } from 'execa';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/cli.js';
import { requireTool } from './helpers/validators.js';
import { startLocal, stopAllLocal, type LocalRun } from './local-harness.js';

const hasChromium = requireTool('chromium', 'apt-get install chromium');

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

async function sendTrace(local: LocalRun): Promise<void> {
  const start = BigInt(Date.now() - 60_000) * 1_000_000n;
  const span = (id: string, parent: string | undefined, name: string, fromMs: number, ms: number, error = false) => ({
    traceId: TRACE_ID,
    spanId: id.repeat(8),
    ...(parent ? { parentSpanId: parent.repeat(8) } : {}),
    name,
    startTimeUnixNano: String(start + BigInt(fromMs) * 1_000_000n),
    endTimeUnixNano: String(start + BigInt(fromMs + ms) * 1_000_000n),
    ...(error ? { status: { code: 2, message: 'tool timed out' } } : {}),
  });
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'viewer-agent' } }] },
        scopeSpans: [
          {
            spans: [
              span('01', undefined, 'cognitive.run', 0, 1000),
              span('02', '01', 'llm.generate', 50, 600),
              span('03', '01', 'tool.invoke', 700, 250, true),
            ],
          },
        ],
      },
    ],
  };
  const response = await fetch(local.url('otlpHttp', '/v1/traces'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
}

/** Headless Chromium with the flags that keep it offline and quiet; waits for the page's fetches. */
async function chromium(profile: string, ...args: string[]) {
  return execa(
    'chromium',
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
      '--virtual-time-budget=5000',
      ...args,
    ],
    { timeout: 60_000, reject: false },
  );
}

/** Decodes an 8-bit RGB/RGBA, non-interlaced PNG (what Chromium writes) into rows of [r, g, b]. */
function decodePng(png: Buffer): { width: number; height: number; pixel: (x: number, y: number) => [number, number, number] } {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8]).toBe(8); // bit depth
      expect(data[12]).toBe(0); // not interlaced
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0;
      expect(channels).toBeGreaterThan(0);
    } else if (type === 'IDAT') idat.push(data);
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    for (let x = 0; x < stride; x++) {
      const value = raw[y * (stride + 1) + 1 + x]!;
      const left = x >= channels ? pixels[y * stride + x - channels]! : 0;
      const up = y > 0 ? pixels[(y - 1) * stride + x]! : 0;
      const upLeft = y > 0 && x >= channels ? pixels[(y - 1) * stride + x - channels]! : 0;
      const paeth = () => {
        const p = left + up - upLeft;
        const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)];
        return pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
      };
      const predicted = [0, left, up, (left + up) >> 1, filter === 4 ? paeth() : 0][filter]!;
      pixels[y * stride + x] = (value + predicted) & 0xff;
    }
  }
  return {
    width,
    height,
    pixel: (x, y) => [pixels[y * stride + x * channels]!, pixels[y * stride + x * channels + 1]!, pixels[y * stride + x * channels + 2]!],
  };
}

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await stopAllLocal();
  for (const cleanup of cleanups) await cleanup();
  cleanups = [];
});
afterAll(stopAllLocal);

describe('the trace viewer of up --local in headless Chromium', () => {
  it.runIf(hasChromium)('lists the trace, draws it as a waterfall, and the screenshot shows its bars', { timeout: 120_000 }, async () => {
    const { dir, cleanup } = await tempDir('loom-otel-chromium-');
    cleanups.push(cleanup);
    const local = await startLocal();
    await sendTrace(local);

    const list = await chromium(path.join(dir, 'profile'), '--dump-dom', local.url('jaegerUi', '/'));
    expect(list.stdout).toContain(`data-trace-id="${TRACE_ID}"`);
    expect(list.stdout).toMatch(/viewer-agent<\/span>cognitive\.run/);

    const page = await chromium(path.join(dir, 'profile'), '--dump-dom', local.url('jaegerUi', `/trace/${TRACE_ID}`));
    const names = [...page.stdout.matchAll(/class="op">([^<]+)</g)].map((m) => m[1]);
    expect(names).toEqual(['cognitive.run', 'llm.generate', 'tool.invoke']); // parents first, siblings by start
    expect(page.stdout).toContain('3 spans · 1.00s');
    expect(page.stdout).toMatch(/class="row error"[^>]*data-span-id="0303030303030303"/);

    const shotFile = path.join(dir, 'trace.png');
    await chromium(path.join(dir, 'profile'), '--window-size=1200,600', `--screenshot=${shotFile}`, local.url('jaegerUi', `/trace/${TRACE_ID}`));
    const image = decodePng(await readFile(shotFile));
    expect([image.width, image.height]).toEqual([1200, 600]);
    // Rows whose timeline holds a bar of the viewer's colours: blue (#3b82f6) for ok spans, red (#dc2626) for errors.
    const rowsWith = (rgb: [number, number, number]) => {
      const rows = new Set<number>();
      for (let y = 0; y < image.height; y++) {
        for (let x = image.width / 3; x < image.width - 100; x += 2) {
          const [r, g, b] = image.pixel(x, y);
          if (Math.abs(r - rgb[0]) < 6 && Math.abs(g - rgb[1]) < 6 && Math.abs(b - rgb[2]) < 6) {
            rows.add(Math.floor(y / 8));
            break;
          }
        }
      }
      return rows.size;
    };
    expect(rowsWith([0x3b, 0x82, 0xf6])).toBeGreaterThanOrEqual(2); // cognitive.run and llm.generate
    expect(rowsWith([0xdc, 0x26, 0x26])).toBeGreaterThanOrEqual(1); // tool.invoke
  });
});
