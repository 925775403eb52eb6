/**
 * What an endpoint URL says about where data goes: whether its host is this machine's loopback, and
 * which port it really uses when the URL leaves the port out. No imports: doctor and init load it.
 */

/** `localhost`, a `*.localhost` name, `::1` (bracketed or not) or any 127.x address. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare.endsWith('.localhost') || bare === '::1' || /^127\./.test(bare);
}

/** The URL's port, or its scheme's default (443 for https:, 80 otherwise) when it names none. */
export function portOf(url: URL): number {
  return Number(url.port || (url.protocol === 'https:' ? 443 : 80));
}
