/**
 * The collector's two small HTTP endpoints, as `up --local` serves them: the prometheus exporter's
 * /metrics (span metrics and token counters) and the health_check extension.
 */
import type http from 'node:http';
import { LOCAL_STACK_HEADER, LOCAL_STACK_PID_HEADER } from '../stack/model.js';

/** Something served on /metrics: the span metrics, the token counters. */
export interface Exposition {
  render(): string;
}

/** A duration the way Go prints it (the health_check extension's `uptime`): 1h2m3.5s, 49.0132518s. */
export function goDurationString(ms: number): string {
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = Number(((ms % 60_000) / 1000).toFixed(6)).toString();
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

function notFound(res: http.ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end('404 page not found\n');
}

export function metricsHandler(...expositions: Exposition[]): http.RequestListener {
  return (req, res) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/metrics') return notFound(res);
    const body = expositions.map((e) => e.render()).join('');
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

/**
 * health_check answers on every path while the process runs (its mux pattern is "/"). Its extra header
 * tells doctor and status that this is `up --local`, which has no Prometheus, Grafana or containers.
 */
export function healthHandler(upSince: Date): http.RequestListener {
  return (_req, res) => {
    const body = JSON.stringify({
      status: 'Server available',
      upSince: upSince.toISOString(),
      uptime: goDurationString(Date.now() - upSince.getTime()),
    });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), [LOCAL_STACK_HEADER.name]: LOCAL_STACK_HEADER.value, [LOCAL_STACK_PID_HEADER]: String(process.pid) });
    res.end(body);
  };
}
