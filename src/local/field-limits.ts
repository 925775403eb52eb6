/**
 * Length caps on what a sender controls: names (span, event, attribute key, scope, service in labels),
 * attribute values and metric label values. Like the OTel SDKs' attribute value length limit, a string is
 * cut to the limit counted in characters; unlike them, a marker says how much was cut, so a truncated
 * prompt never passes for a whole one.
 */

export interface FieldLimits {
  /** Span, event and scope names, attribute keys, trace state, link ids (--max-name-length). */
  nameLength: number;
  /** String attribute values, array elements and status messages (--max-attribute-length). */
  valueLength: number;
}

/** Appended to a truncated string: `…[truncated 1048000 chars]`. */
export function truncationMarker(removed: number): string {
  return `…[truncated ${removed} chars]`;
}

/**
 * `text` cut to `limit` characters plus the marker, or `text` itself when it fits. Never splits a
 * surrogate pair, and returns a flat copy: a V8 slice would keep the whole original string alive.
 */
export function truncate(text: string, limit: number): string {
  if (text.length <= limit) return text;
  let end = limit;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  const prefix = Buffer.from(text.slice(0, end), 'utf8').toString('utf8');
  return prefix + truncationMarker(text.length - end);
}

/** Bytes values are cut without a marker (it would corrupt them): at most this many bytes for a value limit. */
export function bytesLimit(valueLength: number): number {
  return Math.floor((valueLength * 3) / 4);
}
