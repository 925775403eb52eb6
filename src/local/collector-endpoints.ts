/**
 * The collector's two small HTTP endpoints, as `up --local` serves them: the prometheus exporter's
 * /metrics (span metrics and token counters) and the health_check extension.
 */
import type http from 'node:http';
import { LOCAL_STACK_HEADER, LOCAL_STACK_PID_HEADER } from '../stack/model.js';

/** Something served on /metrics (the span metrics, the token counters): its text as a series of chunks. */
export interface Exposition {
  render(): Generator<string>;
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

/** Series are written in batches of about this many characters. */
const WRITE_CHUNK_CHARS = 64 * 1024;

/**
 * Streams the expositions one after the other, chunk by chunk (chunked transfer encoding), waiting
 * whenever the client reads slower than it is written: the answer is always 200 and never has to fit in
 * one string.
 */
export function metricsHandler(...expositions: Exposition[]): http.RequestListener {
  return (req, res) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/metrics') return notFound(res);
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const chunks = (function* () {
      for (const exposition of expositions) yield* exposition.render();
    })();
    const pump = () => {
      let pending = '';
      for (let next = chunks.next(); !next.done; next = chunks.next()) {
        if (res.destroyed) return;
        pending += next.value;
        if (pending.length < WRITE_CHUNK_CHARS) continue;
        const more = res.write(pending);
        pending = '';
        if (!more) {
          res.once('drain', pump);
          return;
        }
      }
      res.end(pending);
    };
    pump();
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
