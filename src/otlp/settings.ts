/**
 * Which OTLP traces endpoint, protocol, headers, TLS settings and timeout an agent on this machine would
 * use, and where each came from. Follows the OpenTelemetry specification for the OTEL_EXPORTER_OTLP_*
 * variables; flags beat variables, which beat the stack manifest, which beats Loom's defaults.
 * `doctor` and `send-test-trace` both resolve through here, so they always agree.
 */
import { rememberSecrets } from '../output/redact.js';
import type { StackOptions } from '../stack/model.js';

export type OtlpProtocol = 'grpc' | 'http/protobuf' | 'http/json';
export const OTLP_PROTOCOLS: readonly OtlpProtocol[] = ['grpc', 'http/protobuf', 'http/json'];

/** Where a setting came from: `flag --endpoint`, `env OTEL_EXPORTER_OTLP_ENDPOINT`, `stack manifest`, `default`. */
export type SettingSource = string;

export interface Setting<T> {
  value: T;
  source: SettingSource;
}

/** A value that could not be used as given. `variable` names the flag or variable to fix. */
export interface SettingProblem {
  variable: string;
  message: string;
  fix: string;
}

export interface OtlpTraceSettings {
  protocol: Setting<OtlpProtocol>;
  /** The URL the exporter sends to. For OTLP/HTTP the full traces URL; for gRPC scheme://host:port. */
  url: Setting<string>;
  /** The endpoint as configured, before `/v1/traces` was appended (same as url for gRPC or a traces-specific endpoint). */
  configuredEndpoint: Setting<string>;
  /** Whether the connection uses TLS. */
  tls: Setting<boolean>;
  /** Header names and values. Values are secrets: never print them; print `headerNames` instead. */
  headers: Setting<Record<string, string>>;
  timeoutMs: Setting<number>;
  compression: Setting<'gzip' | 'none'>;
  certificateFile?: Setting<string>;
  clientKeyFile?: Setting<string>;
  clientCertificateFile?: Setting<string>;
  /** Values that were set but are malformed; the default was used instead. */
  problems: SettingProblem[];
}

export interface OtlpFlags {
  endpoint?: string;
  protocol?: string;
  /** `--header k=v`, repeatable. */
  headers?: string[];
  /** Timeout in milliseconds. */
  timeoutMs?: number;
  insecure?: boolean;
}

/** Loom's SDK exports over OTLP/gRPC to localhost:4317 unless told otherwise (the OTel spec default is http/protobuf). */
export const LOOM_DEFAULT_PROTOCOL: OtlpProtocol = 'grpc';
export const DEFAULT_TIMEOUT_MS = 10_000;
export const TRACES_PATH = '/v1/traces';

const GENERIC = 'OTEL_EXPORTER_OTLP_';
const TRACES = 'OTEL_EXPORTER_OTLP_TRACES_';

/** The first of the traces-specific and generic variables that is set (non-empty), with its name. */
function fromEnv(env: NodeJS.ProcessEnv, suffix: string): { name: string; value: string } | undefined {
  for (const name of [TRACES + suffix, GENERIC + suffix]) {
    const value = env[name]?.trim();
    if (value) return { name, value };
  }
  return undefined;
}

export interface KeyValueParse {
  entries: Record<string, string>;
  /** Entries that could not be parsed, described without their values. */
  malformed: string[];
}

/**
 * Parses the `k=v,k2=v2` lists of OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES
 * (W3C Baggage syntax, values percent-decoded). Malformed entries are reported and skipped.
 */
export function parseKeyValueList(text: string): KeyValueParse {
  const entries: Record<string, string> = {};
  const malformed: string[] = [];
  for (const [index, raw] of text.split(',').entries()) {
    const item = raw.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    const key = eq === -1 ? '' : item.slice(0, eq).trim();
    if (eq === -1 || key === '') {
      malformed.push(`entry ${index + 1} is not key=value`);
      continue;
    }
    try {
      entries[decodeURIComponent(key)] = decodeURIComponent(item.slice(eq + 1).trim());
    } catch {
      malformed.push(`entry ${index + 1} (${key}) has invalid percent-encoding`);
    }
  }
  return { entries, malformed };
}

function parseProtocol(value: string): OtlpProtocol | undefined {
  return (OTLP_PROTOCOLS as readonly string[]).includes(value) ? (value as OtlpProtocol) : undefined;
}

/** Appends `v1/traces` to a base URL the way the spec says: relative to the base path, one slash between. */
export function appendTracesPath(base: string): string {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${TRACES_PATH}`;
  return url.toString();
}

function hasScheme(endpoint: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint);
}

export interface ResolveInput {
  flags?: OtlpFlags;
  env?: NodeJS.ProcessEnv;
  /** Options of the stack found in the stack directory, if any. */
  stack?: StackOptions;
}

export function resolveOtlpTraceSettings(input: ResolveInput = {}): OtlpTraceSettings {
  const flags = input.flags ?? {};
  const env = input.env ?? process.env;
  const problems: SettingProblem[] = [];

  // Protocol.
  let protocol: Setting<OtlpProtocol> = { value: LOOM_DEFAULT_PROTOCOL, source: 'Loom SDK default' };
  const protocolEnv = fromEnv(env, 'PROTOCOL');
  if (flags.protocol !== undefined) {
    const parsed = parseProtocol(flags.protocol);
    if (parsed) protocol = { value: parsed, source: 'flag --protocol' };
    else problems.push({ variable: '--protocol', message: `unknown protocol "${flags.protocol}"`, fix: `Use one of ${OTLP_PROTOCOLS.join(', ')}.` });
  } else if (protocolEnv) {
    const parsed = parseProtocol(protocolEnv.value);
    if (parsed) protocol = { value: parsed, source: `env ${protocolEnv.name}` };
    else problems.push({ variable: protocolEnv.name, message: `unknown protocol "${protocolEnv.value}"`, fix: `Set it to one of ${OTLP_PROTOCOLS.join(', ')}.` });
  }
  const isHttp = protocol.value !== 'grpc';

  // Endpoint. A traces-specific endpoint is used as is; a generic one is a base URL for OTLP/HTTP.
  const tracesEndpointEnv = env[`${TRACES}ENDPOINT`]?.trim();
  const genericEndpointEnv = env[`${GENERIC}ENDPOINT`]?.trim();
  let configured: Setting<string>;
  let asIs: boolean;
  if (flags.endpoint !== undefined) {
    configured = { value: flags.endpoint, source: 'flag --endpoint' };
    // The flag is a base URL like OTEL_EXPORTER_OTLP_ENDPOINT, but a URL that already names the traces path is taken as is.
    asIs = !isHttp || endpointPath(flags.endpoint).endsWith(TRACES_PATH);
  } else if (tracesEndpointEnv) {
    configured = { value: tracesEndpointEnv, source: `env ${TRACES}ENDPOINT` };
    asIs = true;
  } else if (genericEndpointEnv) {
    configured = { value: genericEndpointEnv, source: `env ${GENERIC}ENDPOINT` };
    asIs = !isHttp;
  } else if (input.stack) {
    const port = isHttp ? input.stack.ports.otlpHttp : input.stack.ports.otlpGrpc;
    configured = { value: `http://127.0.0.1:${port}`, source: 'stack manifest' };
    asIs = !isHttp;
  } else {
    configured = { value: `http://localhost:${isHttp ? 4318 : 4317}`, source: 'Loom SDK default' };
    asIs = !isHttp;
  }

  // TLS: the scheme decides; without one, OTEL_EXPORTER_OTLP_INSECURE (gRPC only) does, default secure.
  const insecureEnv = fromEnv(env, 'INSECURE');
  let tls: Setting<boolean>;
  let withScheme = configured.value;
  if (hasScheme(configured.value)) {
    const scheme = configured.value.slice(0, configured.value.indexOf(':')).toLowerCase();
    if (scheme !== 'http' && scheme !== 'https') {
      problems.push({
        variable: configured.source.replace(/^(env|flag) /, ''),
        message: `unsupported scheme "${scheme}://" in ${configured.value}`,
        fix: 'Use http:// (plaintext) or https:// (TLS).',
      });
    }
    tls = { value: scheme === 'https', source: `scheme of ${configured.source}` };
  } else if (flags.insecure !== undefined) {
    tls = { value: !flags.insecure, source: 'flag --insecure' };
    withScheme = `${flags.insecure ? 'http' : 'https'}://${configured.value}`;
  } else if (insecureEnv && !isHttp) {
    const insecure = insecureEnv.value.toLowerCase() === 'true';
    tls = { value: !insecure, source: `env ${insecureEnv.name} (endpoint has no scheme)` };
    withScheme = `${insecure ? 'http' : 'https'}://${configured.value}`;
  } else {
    tls = { value: true, source: 'default (endpoint has no scheme: TLS)' };
    withScheme = `https://${configured.value}`;
  }

  let urlValue: string;
  try {
    urlValue = asIs ? new URL(withScheme).toString() : appendTracesPath(withScheme);
    // gRPC targets are scheme://host:port; drop the root slash URL serialisation adds.
    if (!isHttp) urlValue = urlValue.replace(/\/$/, '');
  } catch {
    problems.push({
      variable: configured.source.replace(/^(env|flag) /, ''),
      message: `"${configured.value}" is not a valid URL`,
      fix: `Give a URL such as http://localhost:${isHttp ? '4318' : '4317'}.`,
    });
    urlValue = isHttp ? `http://localhost:4318${TRACES_PATH}` : 'http://localhost:4317';
  }

  // Headers: a traces-specific variable takes precedence over the generic one; --header flags win over both.
  let headers: Setting<Record<string, string>> = { value: {}, source: 'default (none)' };
  const headersEnv = fromEnv(env, 'HEADERS');
  if (headersEnv) {
    const parsed = parseKeyValueList(headersEnv.value);
    headers = { value: sendableHeaders(parsed.entries, protocol.value, headersEnv.name, problems), source: `env ${headersEnv.name}` };
    for (const entry of parsed.malformed) {
      problems.push({ variable: headersEnv.name, message: `${entry}; it was ignored`, fix: 'Write headers as key=value pairs separated by commas, values percent-encoded.' });
    }
  }
  if (flags.headers?.length) {
    const parsed = parseKeyValueList(flags.headers.join(','));
    headers = { value: { ...headers.value, ...sendableHeaders(parsed.entries, protocol.value, '--header', problems) }, source: 'flag --header' };
    for (const entry of parsed.malformed) {
      problems.push({ variable: '--header', message: entry, fix: 'Write --header key=value.' });
    }
  }

  // Timeout: integer milliseconds.
  let timeoutMs: Setting<number> = { value: DEFAULT_TIMEOUT_MS, source: 'default' };
  const timeoutEnv = fromEnv(env, 'TIMEOUT');
  if (flags.timeoutMs !== undefined) {
    timeoutMs = { value: flags.timeoutMs, source: 'flag' };
  } else if (timeoutEnv) {
    if (/^\d+$/.test(timeoutEnv.value) && Number(timeoutEnv.value) > 0) {
      timeoutMs = { value: Number(timeoutEnv.value), source: `env ${timeoutEnv.name}` };
    } else {
      problems.push({
        variable: timeoutEnv.name,
        message: `"${timeoutEnv.value}" is not a positive whole number of milliseconds; the default ${DEFAULT_TIMEOUT_MS} ms was used`,
        fix: `Set it in milliseconds, e.g. ${timeoutEnv.name}=10000.`,
      });
    }
  }

  let compression: Setting<'gzip' | 'none'> = { value: 'none', source: 'default' };
  const compressionEnv = fromEnv(env, 'COMPRESSION');
  if (compressionEnv) {
    if (compressionEnv.value === 'gzip' || compressionEnv.value === 'none') {
      compression = { value: compressionEnv.value, source: `env ${compressionEnv.name}` };
    } else {
      problems.push({ variable: compressionEnv.name, message: `unknown compression "${compressionEnv.value}"`, fix: 'Set it to gzip or none.' });
    }
  }

  const file = (suffix: string): Setting<string> | undefined => {
    const found = fromEnv(env, suffix);
    return found ? { value: found.value, source: `env ${found.name}` } : undefined;
  };
  const certificateFile = file('CERTIFICATE');
  const clientKeyFile = file('CLIENT_KEY');
  const clientCertificateFile = file('CLIENT_CERTIFICATE');

  // From here on, nothing printed shows a credential these settings send.
  rememberSecrets(credentialsSent(urlValue, headers.value));
  return {
    protocol,
    url: { value: urlValue, source: configured.source },
    configuredEndpoint: configured,
    tls,
    headers,
    timeoutMs,
    compression,
    ...(certificateFile ? { certificateFile } : {}),
    ...(clientKeyFile ? { clientKeyFile } : {}),
    ...(clientCertificateFile ? { clientCertificateFile } : {}),
    problems,
  };
}

/** The path of an endpoint (with or without a scheme), without a trailing slash; '' when it has none or is not a URL. */
export function endpointPath(endpoint: string): string {
  try {
    return new URL(hasScheme(endpoint) ? endpoint : `http://${endpoint}`).pathname.replace(/\/+$/, '');
  } catch {
    return '';
  }
}

/** HTTP header names are tokens; values may not hold control characters (Node's http rejects them). */
const HTTP_HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HTTP_HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** gRPC metadata (as @grpc/grpc-js checks it, after lowercasing the key): text keys and printable ASCII values. */
const GRPC_METADATA_KEY = /^[0-9a-z_.-]+$/;
const GRPC_METADATA_VALUE = /^[\x20-\x7e]*$/;

/**
 * Why the exporter for `protocol` could not send this header. Neither a bad name nor the value is quoted:
 * a name such as "Authorization: Bearer abc" (curl's syntax) holds the secret.
 */
function unsendableHeader(name: string, value: string, protocol: OtlpProtocol): string | undefined {
  const grpc = protocol === 'grpc';
  const key = name.toLowerCase();
  const validName = grpc ? GRPC_METADATA_KEY.test(key) && !key.endsWith('-bin') : HTTP_HEADER_NAME.test(name);
  if (!validName) return `a header name is not valid ${grpc ? 'gRPC metadata (letters, digits, "-", "_", "."; not ending in -bin)' : 'in HTTP'}`;
  if (!(grpc ? GRPC_METADATA_VALUE : HTTP_HEADER_VALUE).test(value)) {
    return `the value of header "${name}" has a character ${grpc ? 'gRPC metadata cannot carry (printable ASCII only)' : 'HTTP forbids (a control character such as a newline)'}`;
  }
  return undefined;
}

/** Drops the headers the exporter could not send: left in, they make it throw with the secret value in its message. */
function sendableHeaders(entries: Record<string, string>, protocol: OtlpProtocol, variable: string, problems: SettingProblem[]): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(entries)) {
    const reason = unsendableHeader(name, value, protocol);
    // A flag's problem stops the command (exit 2); a variable's header is left out and the run goes on.
    if (reason) problems.push({ variable, message: variable.startsWith('--') ? reason : `${reason}; it was ignored`, fix: 'Write each header as name=value with the value percent-encoded, e.g. authorization=Bearer%20<token>.' });
    else kept[name] = value;
  }
  return kept;
}

/** Header names only, for output: values are secrets. */
export function headerNames(settings: OtlpTraceSettings): string[] {
  return Object.keys(settings.headers.value);
}

export interface ServiceNameSetting extends Setting<string> {
  /** The resource attributes from OTEL_RESOURCE_ATTRIBUTES (service.name included when set there). */
  resourceAttributes: Record<string, string>;
  problems: SettingProblem[];
}

/**
 * The service name per the spec: OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES.
 * A flag beats both; `fallback` applies when none is set.
 */
export function resolveServiceName(flag: string | undefined, fallback: Setting<string>, env: NodeJS.ProcessEnv = process.env): ServiceNameSetting {
  const parsed = parseKeyValueList(env.OTEL_RESOURCE_ATTRIBUTES ?? '');
  const problems: SettingProblem[] = parsed.malformed.map((entry) => ({
    variable: 'OTEL_RESOURCE_ATTRIBUTES',
    message: `${entry}; it was ignored`,
    fix: 'Write resource attributes as key=value pairs separated by commas, values percent-encoded.',
  }));
  const base = { resourceAttributes: parsed.entries, problems };
  if (flag) return { value: flag, source: 'flag --service', ...base };
  const fromServiceName = env.OTEL_SERVICE_NAME?.trim();
  if (fromServiceName) return { value: fromServiceName, source: 'env OTEL_SERVICE_NAME', ...base };
  const fromAttributes = parsed.entries['service.name'];
  if (fromAttributes) return { value: fromAttributes, source: 'env OTEL_RESOURCE_ATTRIBUTES (service.name)', ...base };
  return { ...fallback, ...base };
}

/**
 * Every credential a request to `endpoint` with `headers` sends: the header values, and the URL's userinfo
 * as Node sends it (Basic authorization).
 */
export function credentialsSent(endpoint: string, headers: Readonly<Record<string, string>>): string[] {
  const secrets = Object.values(headers);
  try {
    const url = new URL(endpoint);
    if (url.username || url.password) {
      const user = decodeURIComponent(url.username);
      const password = decodeURIComponent(url.password);
      // A bare userinfo (https://TOKEN@host) is the secret itself; otherwise the password is.
      secrets.push(password || user, Buffer.from(`${user}:${password}`).toString('base64'));
    }
  } catch {
    // not a URL: nothing in it is sent
  }
  return secrets;
}
