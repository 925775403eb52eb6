/**
 * What `up`, `status` and `down` print about a running stack: the live health lines while waiting, the
 * table of URLs, the `export OTEL_...` lines for an agent. Terminal output only; no domain logic.
 */
import { createLiveLines } from '../output/live.js';
import type { PartHealth } from '../checks/health.js';
import type { StackModel, StackPart } from '../stack/model.js';
import { mark, type Style } from '../output/style.js';
import type { OutputContext } from '../output/context.js';

/** Columns padded to the widest cell; ANSI colour codes do not count towards the width. */
export function formatTable(rows: readonly (readonly string[])[], indent = '  '): string[] {
  const visible = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '').length;
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visible(cell))));
  return rows.map((row) =>
    (indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visible(cell)))).join('  ')).trimEnd(),
  );
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The URL a person (or an agent, for the collector) uses for a part. */
export function partUrl(model: StackModel, part: StackPart): string {
  return part.uiUrl ?? model.otlp.grpcEndpoint;
}

export interface UrlRow {
  label: string;
  url: string;
  note?: string;
}

export function stackUrls(model: StackModel, grafanaLogin?: string): UrlRow[] {
  const rows: UrlRow[] = [];
  const jaeger = model.part('jaeger');
  if (jaeger?.uiUrl) rows.push({ label: 'Jaeger UI', url: jaeger.uiUrl, note: 'traces' });
  const grafana = model.part('grafana');
  if (grafana?.uiUrl) rows.push({ label: 'Grafana', url: grafana.uiUrl, ...(grafanaLogin ? { note: grafanaLogin } : {}) });
  if (model.dashboardUrl) rows.push({ label: 'Loom dashboard', url: model.dashboardUrl, note: 'Grafana: RED metrics per agent, tool and model' });
  const prometheus = model.part('prometheus');
  if (prometheus?.uiUrl) rows.push({ label: 'Prometheus', url: prometheus.uiUrl, note: 'spanmetrics series' });
  rows.push({ label: 'OTLP gRPC', url: model.otlp.grpcEndpoint, note: 'what Loom agents use' });
  rows.push({ label: 'OTLP HTTP', url: model.otlp.httpEndpoint, note: 'base URL; traces go to /v1/traces' });
  return rows;
}

export interface HealthProgress {
  update(health: PartHealth): void;
  /** Stops the live display, leaving its last state on screen. */
  stop(): void;
}

/**
 * One line per part while waiting: redrawn in place with a spinner on a terminal (stderr), one plain line
 * per part as it turns healthy otherwise, nothing with --json.
 */
export function createHealthProgress(ctx: OutputContext, model: StackModel, timeoutMs: number): HealthProgress {
  const names = model.parts.map((p) => p.name);
  if (ctx.json) return { update: () => undefined, stop: () => undefined };
  const started = Date.now();
  const latest = new Map<string, PartHealth>();
  const width = Math.max(...names.map((n) => n.length));
  ctx.err(`Waiting up to ${seconds(timeoutMs)} for ${names.join(', ')} to turn healthy...`);

  const live = createLiveLines((frame) => model.parts.map((part) => progressLine(ctx.style, part.name.padEnd(width), latest.get(part.name), frame, started)), {
    color: ctx.style.color,
    everyMs: 100,
  });
  if (live) {
    return {
      update: (health) => void latest.set(health.part.name, health),
      stop: () => live.stop({ keep: true }),
    };
  }
  return {
    update(health) {
      const before = latest.get(health.part.name);
      latest.set(health.part.name, health);
      if (health.healthy && !before?.healthy) {
        ctx.err(`${mark(ctx.style, 'pass')} ${health.part.name.padEnd(width)}  healthy after ${seconds(health.healthyAfterMs ?? 0)}`);
      }
    },
    stop: () => undefined,
  };
}

function progressLine(style: Style, name: string, health: PartHealth | undefined, spinner: string, started: number): string {
  if (health?.healthy) return `${mark(style, 'pass')} ${name}  ${style.green('healthy')} ${style.dim(`after ${seconds(health.healthyAfterMs ?? 0)}`)}`;
  const detail = health ? health.detail : 'starting';
  return `${style.cyan(spinner)} ${name}  ${style.dim(`${seconds(Date.now() - started)}  ${detail}`)}`;
}
