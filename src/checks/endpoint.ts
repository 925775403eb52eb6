/**
 * Check groups 1 and 2: which OTLP endpoint is probed (each setting with where it came from; header
 * names only, never values), then the probe itself, step by step, so the failing step is named.
 */
import { probeOtlp, probeTargetOf, type ProbeResult, type ProbeStepName } from '../otlp/probe.js';
import { headerNames, type OtlpTraceSettings, type ServiceNameSetting } from '../otlp/settings.js';
import { fail, info, pass, skip, type CheckResult } from './types.js';

export function describeEndpoint(settings: OtlpTraceSettings, service: ServiceNameSetting): CheckResult[] {
  const { protocol, url, configuredEndpoint, tls, headers, timeoutMs, compression } = settings;
  const names = headerNames(settings);
  const checks: CheckResult[] = [
    info('endpoint.url', 'Endpoint', url.value === configuredEndpoint.value ? `${url.value} (${url.source})` : `${url.value} (${configuredEndpoint.value} from ${url.source}, with ${'/v1/traces'} appended)`),
    info('endpoint.protocol', 'Protocol', `${protocol.value} (${protocol.source})`),
    info('endpoint.tls', 'Transport', `${tls.value ? 'TLS' : 'plaintext'} (${tls.source})${settings.certificateFile ? `; CA certificate ${settings.certificateFile.value}` : ''}${settings.clientCertificateFile ? `; client certificate ${settings.clientCertificateFile.value}` : ''}`),
    info('endpoint.headers', 'Headers', names.length ? `${names.join(', ')} (${headers.source}; values not shown)` : 'none'),
    info('endpoint.timeout', 'Export timeout', `${timeoutMs.value} ms (${timeoutMs.source})`),
    info('endpoint.compression', 'Compression', `${compression.value} (${compression.source})`),
    info('endpoint.service-name', 'Service name', `${service.value} (${service.source})`),
  ];
  return checks;
}

const STEP_TITLES: Readonly<Record<ProbeStepName, string>> = {
  dns: 'DNS',
  tcp: 'TCP connect',
  tls: 'TLS handshake',
  protocol: 'Plaintext protocol',
  export: 'Empty export',
};

export interface ConnectivityInput {
  settings: OtlpTraceSettings;
  /** How long each step may take in all (doctor's --timeout), not the exporter's timeout. */
  timeoutMs: number;
  /** Set when the endpoint could not be used as configured: the probe is skipped with this reason. */
  unusableBecause?: string;
}

export interface Connectivity {
  checks: CheckResult[];
  probe?: ProbeResult;
}

export async function checkConnectivity(input: ConnectivityInput): Promise<Connectivity> {
  const { settings } = input;
  const expected: ProbeStepName[] = ['dns', 'tcp', settings.tls.value ? 'tls' : 'protocol', 'export'];
  if (input.unusableBecause) {
    return { checks: [skip('connectivity', 'OTLP connectivity', input.unusableBecause)] };
  }
  const probe = await probeOtlp(probeTargetOf(settings, input.timeoutMs));
  const isGrpc = settings.protocol.value === 'grpc';
  const titleOf = (name: ProbeStepName) =>
    name === 'export' ? (isGrpc ? 'Empty gRPC Export' : `Empty OTLP/HTTP POST ${safePath(settings.url.value)}`) : STEP_TITLES[name];
  const checks: CheckResult[] = [];
  let failedStep: string | undefined;
  for (const name of expected) {
    const step = probe.steps.find((s) => s.name === name);
    const id = `connectivity.${name}`;
    if (!step) {
      checks.push(skip(id, titleOf(name), failedStep ? `not reached: ${failedStep} failed` : 'not reached'));
      continue;
    }
    if (step.ok) {
      checks.push(pass(id, titleOf(name), `${step.detail} (${step.ms} ms)`));
    } else {
      failedStep = titleOf(name);
      const failure = probe.failure;
      checks.push(fail(id, titleOf(name), failure?.cause ?? step.detail, failure?.fix ?? 'Check the endpoint URL and that the receiver is running.'));
    }
  }
  // A failure before the first step (an unusable URL, an unreadable certificate) names no step.
  if (!probe.ok && !failedStep && probe.failure) {
    checks.unshift(fail('connectivity.setup', 'Probe set-up', probe.failure.cause, probe.failure.fix));
  }
  if (!isGrpc && probe.routeStatus !== undefined) {
    checks.push(
      probe.routeStatus === 405
        ? pass('connectivity.route', `GET ${safePath(settings.url.value)}`, 'answered 405 Method Not Allowed: the traces route exists')
        : info('connectivity.route', `GET ${safePath(settings.url.value)}`, `answered ${probe.routeStatus} (an OTLP/HTTP receiver answers 405 on its traces route)`),
    );
  }
  return { checks, probe };
}

function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}
