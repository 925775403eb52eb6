/**
 * One GET to a backend's HTTP API (Jaeger's query API, Prometheus' API), with a network failure put in
 * words the same way for both.
 */

export type BackendAnswer =
  | { ok: true; status: number; text: string }
  /** `refused`: nothing listens there (as opposed to an answer we could not use). */
  | { ok: false; message: string; refused: boolean };

/** Base URL without a trailing slash: API paths and UI links are appended to it. */
export function backendBase(url: string): string {
  return url.replace(/\/+$/, '');
}

/** `name` says whose API it is in messages, e.g. "Jaeger at http://127.0.0.1:16686 could not be reached (ECONNREFUSED)". */
export async function getFromBackend(name: string, base: string, path: string, timeoutMs: number): Promise<BackendAnswer> {
  let response: Response;
  try {
    response = await fetch(`${backendBase(base)}${path}`, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = (error as Error).name === 'TimeoutError' ? 'no answer in time' : (cause?.code ?? cause?.message ?? (error as Error).message);
    return { ok: false, message: `${name} at ${backendBase(base)} could not be reached (${reason})`, refused: cause?.code === 'ECONNREFUSED' };
  }
  return { ok: true, status: response.status, text: await response.text().catch(() => '') };
}
