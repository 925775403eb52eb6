// How an agent's OTLP settings resolve, per the OpenTelemetry specification (doctor and send-test-trace
// both use this, so a wrong rule here would mislead both).
import { describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS } from '../src/stack/model.js';
import { parseKeyValueList, resolveOtlpTraceSettings, resolveServiceName } from '../src/otlp/settings.js';

const resolve = (env: Record<string, string>, flags = {}, stack?: typeof DEFAULT_OPTIONS) =>
  resolveOtlpTraceSettings({ env, flags, ...(stack ? { stack } : {}) });

describe('OTLP traces endpoint resolution', () => {
  it("defaults to Loom's OTLP/gRPC endpoint, plaintext", () => {
    const s = resolve({});
    expect(s.protocol).toEqual({ value: 'grpc', source: 'Loom SDK default' });
    expect(s.url.value).toBe('http://localhost:4317');
    expect(s.tls.value).toBe(false);
    expect(s.timeoutMs.value).toBe(10_000);
  });

  it('appends /v1/traces to the generic endpoint for OTLP/HTTP, keeping its base path', () => {
    expect(resolve({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).url.value).toBe('http://collector:4318/v1/traces');
    expect(resolve({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_ENDPOINT: 'https://gw.example/otlp/' }).url.value).toBe('https://gw.example/otlp/v1/traces');
  });

  it('uses the traces-specific endpoint as is, and it wins over the generic one', () => {
    const s = resolve({
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://generic:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9999/custom',
    });
    expect(s.url).toEqual({ value: 'http://traces:9999/custom', source: 'env OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' });
  });

  it('keeps a doubled traces path visible (the generic endpoint is a base URL)', () => {
    const s = resolve({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318/v1/traces' });
    expect(s.url.value).toBe('http://localhost:4318/v1/traces/v1/traces');
  });

  it('lets the traces protocol variable win over the generic one, and flags win over both', () => {
    expect(resolve({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }).protocol.value).toBe('http/json');
    expect(resolve({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, { protocol: 'http/protobuf' }).protocol).toEqual({ value: 'http/protobuf', source: 'flag --protocol' });
  });

  it('decides TLS by the scheme, and by OTEL_EXPORTER_OTLP_INSECURE only without one', () => {
    expect(resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector:4317' }).tls.value).toBe(true);
    expect(resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317', OTEL_EXPORTER_OTLP_INSECURE: 'false' }).tls.value).toBe(false);
    expect(resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317' }).tls.value).toBe(true);
    const insecure = resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317', OTEL_EXPORTER_OTLP_INSECURE: 'TRUE' });
    expect(insecure.tls.value).toBe(false);
    expect(insecure.url.value).toBe('http://collector:4317');
  });

  it('uses the stack manifest ports when nothing else is set, and variables beat the manifest', () => {
    const stack = { ...DEFAULT_OPTIONS, ports: { ...DEFAULT_OPTIONS.ports, otlpGrpc: 14317, otlpHttp: 14318 } };
    expect(resolve({}, {}, stack).url).toEqual({ value: 'http://127.0.0.1:14317', source: 'stack manifest' });
    expect(resolve({}, { protocol: 'http/protobuf' }, stack).url.value).toBe('http://127.0.0.1:14318/v1/traces');
    expect(resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://other:4317' }, {}, stack).url.value).toBe('http://other:4317');
  });

  it('percent-decodes headers, lets the traces variable take precedence, and reports malformed entries', () => {
    const s = resolve({ OTEL_EXPORTER_OTLP_HEADERS: 'a=1', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'authorization=Bearer%20abc,broken' });
    expect(s.headers.value).toEqual({ authorization: 'Bearer abc' });
    expect(s.headers.source).toBe('env OTEL_EXPORTER_OTLP_TRACES_HEADERS');
    expect(s.problems.map((p) => p.variable)).toEqual(['OTEL_EXPORTER_OTLP_TRACES_HEADERS']);
    expect(JSON.stringify(s.problems)).not.toContain('abc');
  });

  it('drops headers the exporter could not send, naming the variable but never the value', () => {
    const grpcHeaders = resolve({ OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%0Asecret1,x-ok=1,caf%C3%A9=%C3%A9' });
    expect(grpcHeaders.headers.value).toEqual({ 'x-ok': '1' });
    expect(grpcHeaders.problems.map((p) => p.variable)).toEqual(['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_HEADERS']);
    const http = resolve({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }, { headers: ['x-ok=caf%C3%A9', 'Authorization: Bearer secret2=', 'x-bad=a%0Db'] });
    expect(http.headers.value).toEqual({ 'x-ok': 'café' });
    expect(http.problems.map((p) => p.variable)).toEqual(['--header', '--header']);
    expect(JSON.stringify([grpcHeaders.problems, http.problems])).not.toMatch(/secret/);
  });

  it('reads the timeout in milliseconds and rejects what is not a whole number', () => {
    expect(resolve({ OTEL_EXPORTER_OTLP_TIMEOUT: '2500' }).timeoutMs.value).toBe(2500);
    const bad = resolve({ OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '2.5s' });
    expect(bad.timeoutMs.value).toBe(10_000);
    expect(bad.problems[0]?.variable).toBe('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT');
  });

  it('reports an unknown protocol and falls back to Loom’s default', () => {
    const s = resolve({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http' });
    expect(s.protocol.value).toBe('grpc');
    expect(s.problems[0]).toMatchObject({ variable: 'OTEL_EXPORTER_OTLP_PROTOCOL' });
  });
});

describe('service name', () => {
  const fallback = { value: 'loom-test-agent', source: 'default' };
  it('prefers OTEL_SERVICE_NAME over service.name in OTEL_RESOURCE_ATTRIBUTES, and a flag over both', () => {
    const env = { OTEL_SERVICE_NAME: 'svc-a', OTEL_RESOURCE_ATTRIBUTES: 'service.name=svc-b,team=x%2Cy' };
    expect(resolveServiceName(undefined, fallback, env).value).toBe('svc-a');
    expect(resolveServiceName(undefined, fallback, { OTEL_RESOURCE_ATTRIBUTES: env.OTEL_RESOURCE_ATTRIBUTES }).value).toBe('svc-b');
    expect(resolveServiceName('flagged', fallback, env).value).toBe('flagged');
    expect(resolveServiceName(undefined, fallback, {}).value).toBe('loom-test-agent');
    expect(resolveServiceName(undefined, fallback, env).resourceAttributes.team).toBe('x,y');
  });

  it('parses key=value lists the way the spec writes them', () => {
    expect(parseKeyValueList(' k1 = v1 , k2=a%3Db ,, bad, =x')).toEqual({
      entries: { k1: 'v1', k2: 'a=b' },
      malformed: ['entry 4 is not key=value', 'entry 5 is not key=value'],
    });
  });
});
