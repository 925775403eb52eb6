/**
 * Lints the OTEL_* variables an agent started from this environment would inherit: the mistakes that make
 * traces vanish without an error (wrong port for the protocol, a doubled traces path, `localhost` in a
 * container, the SDK switched off, a sampler that keeps nothing, a timeout in the wrong unit).
 */
import { access } from 'node:fs/promises';
import type { StackOptions } from '../stack/model.js';
import {
  endpointPath,
  resolveOtlpTraceSettings,
  resolveServiceName,
  TRACES_PATH,
  type OtlpTraceSettings,
  type SettingProblem,
} from '../otlp/settings.js';
import { isLoopbackHost, portOf } from '../otlp/url.js';
import type { ContainerContext } from './container.js';
import { fail, info, pass, warn, type CheckResult } from './types.js';

/** The names Loom gives a service when OTEL_SERVICE_NAME is unset (Python SDK; agents get their id). */
const LOOM_FALLBACK_SERVICE = 'loom-python (agents: agent-<id>)';
/** Below this many milliseconds, a timeout was almost certainly meant as seconds. */
const SECONDS_SUSPECT_BELOW_MS = 100;

export interface AppSettingsInput {
  env: NodeJS.ProcessEnv;
  container: ContainerContext;
  /** The stack found in the stack directory: its ports are what a local agent should send to. */
  stack?: StackOptions;
  /** An endpoint doctor's probe reached from this process (so from this container, when in one). */
  reached?: string;
}

function urlParts(endpoint: string): { host: string; port: number; path: string } | undefined {
  try {
    const url = new URL(endpoint);
    return { host: url.hostname, port: portOf(url), path: url.pathname };
  } catch {
    return undefined;
  }
}

function problemCheck(problem: SettingProblem): CheckResult {
  // Malformed resource attributes lose an attribute; every other malformed value changes where or how data goes.
  const check = problem.variable === 'OTEL_RESOURCE_ATTRIBUTES' ? warn : fail;
  return check(`settings.value.${problem.variable}`, `${problem.variable} is malformed`, problem.message, problem.fix);
}

export async function lintAppSettings(input: AppSettingsInput): Promise<CheckResult[]> {
  const { env, container, stack } = input;
  const agent = resolveOtlpTraceSettings({ env });
  const service = resolveServiceName(undefined, { value: LOOM_FALLBACK_SERVICE, source: 'Loom default' }, env);
  const checks: CheckResult[] = [];
  const protocol = agent.protocol.value;
  const isHttp = protocol !== 'grpc';
  const parts = urlParts(agent.url.value);
  const grpcPort = stack?.ports.otlpGrpc ?? 4317;
  const httpPort = stack?.ports.otlpHttp ?? 4318;

  checks.push(info('settings.agent-endpoint', 'An agent started here sends to', `${agent.url.value} over ${protocol} (${agent.url.source}; protocol: ${agent.protocol.source})`));
  for (const problem of [...agent.problems, ...service.problems]) checks.push(problemCheck(problem));

  // The port of one protocol with the other protocol.
  if (parts) {
    const title = 'Port matches the protocol';
    if (!isHttp && parts.port === httpPort) {
      checks.push(warn('settings.port-protocol', title, `port ${httpPort} is OTLP/HTTP, but the protocol is grpc (${agent.protocol.source})`, `Use port ${grpcPort} for gRPC (${endpointVar(agent)}=http://${parts.host}:${grpcPort}), or set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf.`));
    } else if (isHttp && parts.port === grpcPort) {
      checks.push(warn('settings.port-protocol', title, `port ${grpcPort} is OTLP/gRPC, but the protocol is ${protocol} (${agent.protocol.source})`, `Use port ${httpPort} for OTLP/HTTP, or set OTEL_EXPORTER_OTLP_PROTOCOL=grpc.`));
    } else {
      checks.push(pass('settings.port-protocol', title, `port ${parts.port} with ${protocol}`));
    }
  }

  checks.push(tracesPathCheck(agent, env));

  // localhost inside a container is the container itself.
  if (parts && isLoopbackHost(parts.host)) {
    const reached = input.reached === undefined ? undefined : urlParts(input.reached);
    if (container.inContainer && reached && isLoopbackHost(reached.host) && reached.port === parts.port) {
      checks.push(pass('settings.container-localhost', 'Endpoint reachable from a container', `${parts.host}:${parts.port} answered from inside this container (${container.evidence}): the collector runs in it or shares its network, so an agent started here reaches it`));
    } else if (container.inContainer) {
      checks.push(warn('settings.container-localhost', 'Endpoint reachable from a container', `the endpoint is ${parts.host}, and this runs in a container (${container.evidence}): ${parts.host} is the container itself`, `Unless the collector runs in this same container or pod, use the collector's service name (e.g. http://otel-collector:${isHttp ? httpPort : grpcPort} on the compose network) or host.docker.internal.`));
    } else {
      checks.push(pass('settings.container-localhost', 'Endpoint reachable from here', `${parts.host} on the host (${container.evidence})`));
    }
  }

  // With a stack and a local endpoint, the port must be one the stack publishes.
  if (stack && parts && isLoopbackHost(parts.host)) {
    const expected = isHttp ? httpPort : grpcPort;
    if (parts.port !== grpcPort && parts.port !== httpPort) {
      checks.push(fail('settings.stack-port', "Port is the stack's", `the stack publishes OTLP on ${grpcPort} (gRPC) and ${httpPort} (HTTP), but an agent here sends to port ${parts.port} (${agent.url.source})`, `export ${endpointVar(agent)}=http://localhost:${expected}`));
    } else {
      checks.push(pass('settings.stack-port', "Port is the stack's", `${parts.port} is the stack's OTLP ${parts.port === grpcPort ? 'gRPC' : 'HTTP'} port`));
    }
  }

  if (service.source === 'Loom default') {
    checks.push(warn('settings.service-name', 'Service name', `OTEL_SERVICE_NAME is unset: Loom names the service ${LOOM_FALLBACK_SERVICE}, so agents are hard to tell apart`, 'export OTEL_SERVICE_NAME=<your-agent-name> (or service.name in OTEL_RESOURCE_ATTRIBUTES).'));
  } else {
    checks.push(pass('settings.service-name', 'Service name', `${service.value} (${service.source})`));
  }

  checks.push(timeoutCheck(agent, env));
  checks.push(...sdkSwitches(env));
  checks.push(...(await fileChecks(agent)));

  const insecure = env.OTEL_EXPORTER_OTLP_TRACES_INSECURE ?? env.OTEL_EXPORTER_OTLP_INSECURE;
  if (insecure?.trim().toLowerCase() === 'true' && agent.tls.value && agent.tls.source.startsWith('scheme')) {
    checks.push(warn('settings.insecure-ignored', 'OTEL_EXPORTER_OTLP_INSECURE', 'it is true, but the endpoint says https://, and the scheme wins: the connection uses TLS', 'Use http:// in the endpoint for a plaintext connection, or drop OTEL_EXPORTER_OTLP_INSECURE.'));
  }
  return checks;
}

function endpointVar(settings: OtlpTraceSettings): string {
  const match = /OTEL_EXPORTER_OTLP_\w*ENDPOINT/.exec(settings.url.source);
  return match?.[0] ?? 'OTEL_EXPORTER_OTLP_ENDPOINT';
}

function tracesPathCheck(agent: OtlpTraceSettings, env: NodeJS.ProcessEnv): CheckResult {
  const title = 'Traces path';
  const id = 'settings.traces-path';
  const isHttp = agent.protocol.value !== 'grpc';
  const generic = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const specific = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (!isHttp) {
    const value = specific || generic;
    const path = value ? endpointPath(value) : '';
    if (path) return warn(id, title, `the gRPC endpoint has a path (${path}); gRPC exporters use only scheme, host and port`, `Drop ${path} from ${endpointVar(agent)}.`);
    return pass(id, title, 'gRPC: no path needed');
  }
  if (specific) {
    if (!endpointPath(specific).endsWith(TRACES_PATH)) {
      return warn(id, title, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as is, and ${specific} does not end in ${TRACES_PATH}: the collector answers 404`, `Add the path: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=${specific.replace(/\/+$/, '')}${TRACES_PATH}`);
    }
    return pass(id, title, `${specific} (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as is)`);
  }
  if (generic && endpointPath(generic).endsWith(TRACES_PATH)) {
    const base = generic.replace(/\/+$/, '').slice(0, -TRACES_PATH.length);
    return fail(id, title, `OTEL_EXPORTER_OTLP_ENDPOINT is a base URL and ${TRACES_PATH} is appended to it: spans go to ${agent.url.value}, which answers 404`, `export OTEL_EXPORTER_OTLP_ENDPOINT=${base} (or put the full URL in OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)`);
  }
  return pass(id, title, `${agent.url.value} (${TRACES_PATH} appended to the base URL)`);
}

function timeoutCheck(agent: OtlpTraceSettings, env: NodeJS.ProcessEnv): CheckResult {
  const title = 'Export timeout';
  const id = 'settings.timeout';
  const name = env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT?.trim() ? 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT' : 'OTEL_EXPORTER_OTLP_TIMEOUT';
  if (agent.timeoutMs.source === 'default') return pass(id, title, `${agent.timeoutMs.value} ms (default)`);
  if (agent.timeoutMs.value < SECONDS_SUSPECT_BELOW_MS) {
    const ms = agent.timeoutMs.value;
    return fail(id, title, `${name}=${ms} means ${ms} ms (the specification's unit is milliseconds): every export to a real backend times out`, `export ${name}=${ms * 1000} for ${ms} s. Note: some OTel Python releases read this variable as seconds (opentelemetry-python#4044), so set the Python exporter's timeout in code if you need one.`);
  }
  return pass(id, title, `${agent.timeoutMs.value} ms (${agent.timeoutMs.source})`);
}

/** OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER, the sampler and the propagators, when set. */
function sdkSwitches(env: NodeJS.ProcessEnv): CheckResult[] {
  const checks: CheckResult[] = [];
  const value = (name: string) => env[name]?.trim() ?? '';
  if (value('OTEL_SDK_DISABLED').toLowerCase() === 'true') {
    checks.push(fail('settings.sdk-disabled', 'OTEL_SDK_DISABLED', 'it is true: the SDK creates no-op tracers and records nothing', 'unset OTEL_SDK_DISABLED'));
  }
  const exporters = value('OTEL_TRACES_EXPORTER').toLowerCase().split(',').map((e) => e.trim()).filter(Boolean);
  if (exporters.length > 0) {
    if (exporters.includes('none')) {
      checks.push(fail('settings.traces-exporter', 'OTEL_TRACES_EXPORTER', `it is "${value('OTEL_TRACES_EXPORTER')}": no traces are exported`, 'unset OTEL_TRACES_EXPORTER (the default is otlp)'));
    } else if (!exporters.includes('otlp')) {
      checks.push(warn('settings.traces-exporter', 'OTEL_TRACES_EXPORTER', `it is "${value('OTEL_TRACES_EXPORTER')}": traces do not go out over OTLP`, 'export OTEL_TRACES_EXPORTER=otlp'));
    } else {
      checks.push(pass('settings.traces-exporter', 'OTEL_TRACES_EXPORTER', value('OTEL_TRACES_EXPORTER')));
    }
  }
  const sampler = value('OTEL_TRACES_SAMPLER').toLowerCase();
  if (sampler) {
    const title = 'Sampler';
    const arg = value('OTEL_TRACES_SAMPLER_ARG');
    if (sampler === 'always_off' || sampler === 'parentbased_always_off') {
      checks.push(fail('settings.sampler', title, `OTEL_TRACES_SAMPLER=${sampler}: no span is ever recorded`, 'unset OTEL_TRACES_SAMPLER (the default parentbased_always_on keeps every trace)'));
    } else if (sampler === 'traceidratio' || sampler === 'parentbased_traceidratio') {
      const ratio = arg === '' ? 1 : Number(arg);
      if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
        checks.push(warn('settings.sampler', title, `OTEL_TRACES_SAMPLER_ARG="${arg}" is not a ratio from 0 to 1; SDKs fall back to 1 (keep every trace)`, 'Set OTEL_TRACES_SAMPLER_ARG to a number from 0 to 1, e.g. 0.1 for 10%.'));
      } else if (ratio === 0) {
        checks.push(fail('settings.sampler', title, `${sampler} with ratio 0: no trace is kept`, 'Set OTEL_TRACES_SAMPLER_ARG above 0 (1 keeps every trace), or unset OTEL_TRACES_SAMPLER.'));
      } else {
        checks.push(info('settings.sampler', title, `${sampler} keeps ${+(ratio * 100).toFixed(2)}% of traces: a test trace may be dropped`));
      }
    } else {
      checks.push(info('settings.sampler', title, sampler));
    }
  }
  const propagators = value('OTEL_PROPAGATORS').toLowerCase().split(',').map((p) => p.trim()).filter(Boolean);
  if (propagators.includes('none') || (propagators.length > 0 && !propagators.includes('tracecontext'))) {
    checks.push(warn('settings.propagators', 'OTEL_PROPAGATORS', `it is "${value('OTEL_PROPAGATORS')}": without tracecontext, spans of the Python agent and the Rust core do not join one trace`, 'unset OTEL_PROPAGATORS (the default is tracecontext,baggage)'));
  }
  return checks;
}

async function fileChecks(agent: OtlpTraceSettings): Promise<CheckResult[]> {
  const checks: CheckResult[] = [];
  for (const [setting, what] of [
    [agent.certificateFile, 'CA certificate'],
    [agent.clientCertificateFile, 'client certificate'],
    [agent.clientKeyFile, 'client key'],
  ] as const) {
    if (!setting) continue;
    const variable = setting.source.replace(/^env /, '');
    try {
      await access(setting.value);
      checks.push(pass(`settings.file.${variable}`, `${what} file`, `${setting.value} (${variable})`));
    } catch (error) {
      checks.push(fail(`settings.file.${variable}`, `${what} file`, `${variable}=${setting.value} cannot be read (${(error as NodeJS.ErrnoException).code})`, `Point ${variable} at a readable PEM file.`));
    }
  }
  return checks;
}
