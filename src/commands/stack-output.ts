/**
 * What `up`, `status` and `down` print about a running stack: the live health lines while waiting, the
 * table of URLs, the `export OTEL_...` lines for an agent. Terminal output only; no domain logic.
 */
import { redact } from '../output/redact.js';
import { terminalSafe } from '../output/terminal-safe.js';
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

/** The variables an agent on this machine needs, in the order they are printed. */
export function agentEnvironment(model: StackModel): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: model.otlp.grpcEndpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    OTEL_SERVICE_NAME: 'my-agent',
    DEPLOYMENT_ENV: model.options.environment,
  };
}

export function exportLines(env: Record<string, string>): string[] {
  return Object.entries(env).map(([key, value]) => `export ${key}=${value}`);
}

export interface HealthProgress {
  update(health: PartHealth): void;
  /** Stops the live display, leaving its last state on screen. */
  stop(): void;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

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

  if (!process.stderr.isTTY) {
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

  let frame = 0;
  let drawn = 0;
  const draw = () => {
    const columns = process.stderr.columns || 100;
    const lines = model.parts.map((part) => truncate(progressLine(ctx.style, part.name.padEnd(width), latest.get(part.name), SPINNER[frame % SPINNER.length] ?? '-', started), columns));
    const up = drawn > 0 ? `\u001b[${drawn}A` : '';
    process.stderr.write(`${up}${lines.map((line) => `\u001b[2K${terminalSafe(redact(line), ctx.style.color)}\n`).join('')}`);
    drawn = lines.length;
    frame += 1;
  };
  draw();
  const timer = setInterval(draw, 100);
  timer.unref();
  return {
    update: (health) => void latest.set(health.part.name, health),
    stop() {
      clearInterval(timer);
      draw();
    },
  };
}

function progressLine(style: Style, name: string, health: PartHealth | undefined, spinner: string, started: number): string {
  if (health?.healthy) return `${mark(style, 'pass')} ${name}  ${style.green('healthy')} ${style.dim(`after ${seconds(health.healthyAfterMs ?? 0)}`)}`;
  const detail = health ? health.detail : 'starting';
  return `${style.cyan(spinner)} ${name}  ${style.dim(`${seconds(Date.now() - started)}  ${detail}`)}`;
}

function truncate(line: string, columns: number): string {
  const plain = line.replace(/\u001b\[[0-9;]*m/g, '');
  if (plain.length < columns) return line;
  // Cutting styled text would break an escape code: fall back to the plain text, cut to fit.
  return `${plain.slice(0, columns - 2)}…`;
}
