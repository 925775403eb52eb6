/**
 * A trace as a compact terminal tree: service, span name, a duration bar placed on the trace's timeline,
 * and an error mark. Used by `up --local`'s live view and by `send-test-trace`.
 */
import type { Style } from './style.js';
import { escapeControl } from './terminal-safe.js';

/** Names come from peers: one line each, control characters shown, and no wider than this. */
const MAX_NAME = 120;
const shown = (text: string) => {
  const safe = escapeControl(text);
  return safe.length > MAX_NAME ? `${safe.slice(0, MAX_NAME - 1)}…` : safe;
};

export interface WaterfallSpan {
  spanId: string;
  parentSpanId?: string;
  service: string;
  name: string;
  /** Start, microseconds since the epoch. */
  startUs: number;
  durationUs: number;
  error: boolean;
}

export interface WaterfallOptions {
  /** Width of the timeline bar in characters. */
  barWidth?: number;
}

export function formatDuration(us: number): string {
  if (us < 1000) return `${Math.round(us)}µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 1 : 0)}ms`;
  return `${(us / 1_000_000).toFixed(2)}s`;
}

/** Returns the lines of the tree, parents before children, siblings by start time. */
export function renderWaterfall(spans: readonly WaterfallSpan[], style: Style, options: WaterfallOptions = {}): string[] {
  if (spans.length === 0) return [];
  const barWidth = options.barWidth ?? 24;
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string | undefined, WaterfallSpan[]>();
  for (const span of spans) {
    // A span whose parent is not in the trace (yet) is shown as a root rather than dropped.
    const parent = span.parentSpanId && ids.has(span.parentSpanId) ? span.parentSpanId : undefined;
    const list = children.get(parent) ?? [];
    list.push(span);
    children.set(parent, list);
  }
  for (const list of children.values()) list.sort((a, b) => a.startUs - b.startUs || a.name.localeCompare(b.name));

  const traceStart = Math.min(...spans.map((s) => s.startUs));
  const traceEnd = Math.max(...spans.map((s) => s.startUs + s.durationUs));
  const total = Math.max(traceEnd - traceStart, 1);

  const rows: Array<{ label: string; span: WaterfallSpan }> = [];
  const visit = (parent: string | undefined, prefix: string, depth: number, seen: Set<string>) => {
    const list = children.get(parent) ?? [];
    list.forEach((span, index) => {
      if (seen.has(span.spanId)) return; // guards against a cycle in malformed input
      seen.add(span.spanId);
      const last = index === list.length - 1;
      const branch = depth === 0 ? '' : last ? '└─ ' : '├─ ';
      rows.push({ label: `${prefix}${branch}${shown(span.name)}`, span: { ...span, service: shown(span.service) } });
      visit(span.spanId, depth === 0 ? '' : `${prefix}${last ? '   ' : '│  '}`, depth + 1, seen);
    });
  };
  visit(undefined, '', 0, new Set());

  const labelWidth = Math.max(...rows.map((r) => r.label.length));
  const serviceWidth = Math.max(...rows.map((r) => r.span.service.length));
  return rows.map(({ label, span }) => {
    const from = Math.floor(((span.startUs - traceStart) / total) * barWidth);
    const length = Math.max(1, Math.round((span.durationUs / total) * barWidth));
    const bar = ' '.repeat(Math.min(from, barWidth - 1)) + '█'.repeat(Math.min(length, barWidth - Math.min(from, barWidth - 1)));
    const paintedBar = span.error ? style.red(bar.padEnd(barWidth)) : style.cyan(bar.padEnd(barWidth));
    const errorMark = span.error ? ` ${style.red('✖ error')}` : '';
    return `${style.dim(span.service.padEnd(serviceWidth))}  ${label.padEnd(labelWidth)}  ${paintedBar} ${formatDuration(span.durationUs).padStart(7)}${errorMark}`;
  });
}
