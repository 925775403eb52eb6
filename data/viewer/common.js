// Shared helpers of the viewer's pages: DOM building (values from spans always inserted as text, never
// as HTML), API calls, durations, dates and one colour per service.

export const $ = (id) => document.getElementById(id);

export function el(tag, attrs = {}, ...children) {
  const svg = ['svg', 'circle', 'line', 'text', 'path', 'g', 'rect', 'title', 'polyline', 'marker'].includes(tag);
  const node = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.setAttribute('class', value);
    else if (key === 'style') Object.assign(node.style, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

export async function api(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  const body = await response.json();
  if (!response.ok) throw new Error(body.errors?.[0]?.msg ?? `HTTP ${response.status}`);
  return body;
}

export function formatDuration(us) {
  if (us < 1000) return `${Math.round(us)}µs`;
  if (us < 1e6) return `${(us / 1000).toFixed(us < 10000 ? 2 : 0)}ms`;
  if (us < 60e6) return `${(us / 1e6).toFixed(2)}s`;
  return `${Math.floor(us / 60e6)}m${Math.round((us % 60e6) / 1e6)}s`;
}

const pad = (n) => String(n).padStart(2, '0');
/** "2026-12-02 00:48:46" in local time: a date a person can compare across days. */
export function formatDate(us) {
  const d = new Date(us / 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A stable, distinct colour per service name (the same on every page). */
export function serviceColor(name) {
  let hash = 0;
  for (const c of name) hash = (hash * 31 + c.codePointAt(0)) >>> 0;
  return `hsl(${(hash * 137.508) % 360}, 62%, 46%)`;
}

export function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Internal links navigate without a reload; the router registers itself here. */
export const router = { navigate: (path) => (location.href = path) };

export function link(href, ...children) {
  return el(
    'a',
    {
      href,
      onclick: (event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
        event.preventDefault();
        router.navigate(href);
      },
    },
    ...children,
  );
}
