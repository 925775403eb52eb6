/**
 * Credentials never reach the output: URL userinfo (`http://user:SECRET@host`) and secret-looking query
 * values (`?api_key=...`) are masked in every line and JSON string, and the credentials we send (header
 * values, logins) are removed from everything, a peer's answer included (a 401 body that echoes
 * `Authorization: Bearer ...`). One list of them per process: code that reads or sends a credential
 * hands it to `rememberSecrets` first, and `redact` (the output boundary, and any code that shortens a
 * peer's text before it gets there) removes every one.
 */

export const MASK = '***';

/** A URL with a scheme, up to the first character that cannot be part of it in running text. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;
/** Query (or fragment) parameter names whose values are credentials. */
const SECRET_PARAM = /key|token|secret|pass|pwd|sig|auth|credential|session|cookie|jwt|bearer/i;

function redactUrl(url: string): string {
  const schemeEnd = url.indexOf('://') + 3;
  const authorityEnd = url.slice(schemeEnd).search(/[/?#]/);
  const authority = authorityEnd === -1 ? url.slice(schemeEnd) : url.slice(schemeEnd, schemeEnd + authorityEnd);
  const rest = authorityEnd === -1 ? '' : url.slice(schemeEnd + authorityEnd);
  const at = authority.lastIndexOf('@');
  const host = at === -1 ? authority : `${MASK}@${authority.slice(at + 1)}`;
  const params = rest.replace(/([?&;#])([^=&;#]+)=([^&;#]*)/g, (whole, sep: string, name: string, value: string) =>
    value !== '' && SECRET_PARAM.test(name) ? `${sep}${name}=${MASK}` : whole,
  );
  return url.slice(0, schemeEnd) + host + params;
}

/** Masks the userinfo and secret-looking query values of every URL in `text`. */
export function redactUrls(text: string): string {
  return text.includes('://') ? text.replace(URL_IN_TEXT, redactUrl) : text;
}

/** Words that name an authorization scheme, not a secret. */
const AUTH_SCHEMES = new Set(['bearer', 'basic', 'token', 'apikey', 'api-key', 'digest', 'negotiate']);

/**
 * The strings to remove from a peer's answer for the header values we sent: each value, and each word of
 * it that is long enough to be a credential (`Bearer abc123...` -> the token alone, too).
 */
export function secretsOfHeaders(values: Iterable<string>): string[] {
  const secrets = new Set<string>();
  for (const value of values) {
    const trimmed = value.trim();
    if (trimmed.length >= 4) secrets.add(trimmed);
    for (const word of trimmed.split(/\s+/)) if (word.length >= 6 && !AUTH_SCHEMES.has(word.toLowerCase())) secrets.add(word);
  }
  // Longest first, so a value is removed whole before a word of it is.
  return [...secrets].sort((a, b) => b.length - a.length);
}

/** The credentials this process reads or sends, longest first (a value goes whole before a word of it). */
let remembered: string[] = [];

/** Called before a credential is sent or anything about it can be printed. */
export function rememberSecrets(values: Iterable<string>): void {
  remembered = [...new Set([...remembered, ...secretsOfHeaders(values)])].sort((a, b) => b.length - a.length);
}

/** Removes every remembered secret (case-insensitively) and masks credentials in URLs. */
export function redact(text: string): string {
  let safe = text;
  for (const secret of remembered) safe = safe.replace(new RegExp(secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi'), MASK);
  return redactUrls(safe);
}
