/**
 * The Jaeger port of `up --local`: the query API subset under /api (JSON exactly in Jaeger's v1 shape)
 * and a small trace viewer (plain HTML + JS from data/viewer) at / and /trace/{id}, the same URLs as
 * Jaeger's UI, so printed trace links work against either.
 */
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import {
  failure,
  normalizeTraceId,
  ok,
  operations,
  parseTraceSearch,
  searchTraces,
  SearchError,
  services,
  toJaegerTrace,
  type JaegerResponse,
} from './jaeger.js';
import { DATA_DIR } from './proto.js';
import { VIEWER_ASSETS, VIEWER_PAGES } from './viewer-assets.js';
import { viewerApiResponse } from './viewer-api.js';
import type { StoredTrace, TraceStore } from './store.js';

export const VIEWER_DIR = path.join(DATA_DIR, 'viewer');

const ASSETS: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'viewer.js': 'text/javascript; charset=utf-8',
  'viewer.css': 'text/css; charset=utf-8',
  ...VIEWER_ASSETS,
};

function loadAssets(): Map<string, Buffer> {
  return new Map(Object.keys(ASSETS).map((name) => [name, readFileSync(path.join(VIEWER_DIR, name))]));
}

function sendJson(res: http.ServerResponse, status: number, body: JaegerResponse<unknown> | Record<string, unknown>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function apiResponse(store: TraceStore, url: URL): { status: number; body: JaegerResponse<unknown> } {
  let parts: string[]; // ['api', ...]
  try {
    parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return { status: 400, body: failure(400, `malformed percent-encoding in ${url.pathname}`) };
  }
  if (parts.length === 2 && parts[1] === 'services') {
    const list = services(store);
    return { status: 200, body: ok(list, list.length) };
  }
  if (parts.length === 4 && parts[1] === 'services' && parts[3] === 'operations') {
    const list = operations(store, parts[2]!);
    return { status: 200, body: ok(list, list.length) };
  }
  if (parts.length === 3 && parts[1] === 'traces') {
    const traceId = normalizeTraceId(parts[2]!);
    if (!traceId) return { status: 400, body: failure(400, `cannot parse traceID param: "${parts[2]}" is not a hex trace id`) };
    const trace = store.get(traceId);
    if (!trace) return { status: 404, body: failure(404, 'trace not found') };
    return { status: 200, body: ok([toJaegerTrace(trace)]) };
  }
  if (parts.length === 2 && parts[1] === 'traces') {
    const ids = url.searchParams.getAll('traceID');
    if (ids.length > 0) {
      const traces: StoredTrace[] = [];
      for (const id of ids) {
        const traceId = normalizeTraceId(id);
        if (!traceId) return { status: 400, body: failure(400, `cannot parse traceID param: "${id}" is not a hex trace id`) };
        const trace = store.get(traceId);
        if (trace) traces.push(trace);
      }
      return { status: 200, body: ok(traces.map(toJaegerTrace)) };
    }
    try {
      const found = searchTraces(store, parseTraceSearch(url.searchParams, Date.now() * 1000));
      return { status: 200, body: ok(found.map(toJaegerTrace)) };
    } catch (error) {
      if (error instanceof SearchError) return { status: 400, body: failure(400, error.message) };
      throw error;
    }
  }
  return { status: 404, body: failure(404, `no such API: ${url.pathname}`) };
}

export function jaegerHandler(store: TraceStore): http.RequestListener {
  const assets = loadAssets();
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8', Allow: 'GET, HEAD' });
      res.end('405 method not allowed\n');
      return;
    }
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
      const { status, body } = viewerApiResponse(store, url) ?? apiResponse(store, url);
      sendJson(res, status, body);
      return;
    }
    // The viewer's pages all load index.html; it reads the trace id from the path.
    const isPage = url.pathname === '/' || VIEWER_PAGES.has(url.pathname) || /^\/trace\/[0-9a-fA-F]{1,32}\/?$/.test(url.pathname);
    const name = isPage ? 'index.html' : url.pathname.replace(/^\/static\//, '');
    const asset = url.pathname.startsWith('/static/') || isPage ? assets.get(name) : undefined;
    if (!asset) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('404 page not found\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': ASSETS[name]!, 'Content-Length': asset.length, 'Cache-Control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : asset);
  };
}
