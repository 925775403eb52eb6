/**
 * The synthetic Loom trace: one agent run as Loom's Python SDK and Rust core record it, built through the
 * real OpenTelemetry SDK with explicit, plausible timestamps. Span names and attribute keys follow the
 * Loom SDK's span catalogue; the Rust side (service `loom-core`) continues the trace from W3C trace context
 * carried in envelope headers, the way Loom's bridge does.
 *
 *   cognitive.run                         <service>   INTERNAL  (root)
 *   ├─ llm.generate                       <service>   CLIENT    decides to call a tool
 *   ├─ cognitive.tool_call                <service>   INTERNAL
 *   │  └─ tool.invoke                     <service>   CLIENT    context -> envelope headers
 *   │     └─ bridge.publish               loom-core   SERVER    context <- envelope headers
 *   │        └─ call                      loom-core   INTERNAL  the tool execution (fails with --error)
 *   ├─ llm.generate                       <service>   CLIENT
 *   ├─ event.request                      <service>   CLIENT    context -> envelope headers
 *   │  └─ bridge.publish                  loom-core   SERVER
 *   │     └─ publish                      loom-core   PRODUCER  event bus
 *   │        └─ bridge.forward            loom-core   PRODUCER  delivery to the answering agent
 *   ├─ llm.generate                       <service>   CLIENT    final answer
 *   └─ event.emit                         <service>   PRODUCER  context -> envelope headers
 *      └─ bridge.publish                  loom-core   SERVER
 *         └─ publish                      loom-core   PRODUCER
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BasicTracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';

/** The Rust side of Loom. */
export const LOOM_CORE_SERVICE = 'loom-core';
/** Instrumentation scopes, as Loom's SDK and core name their tracers. */
const PYTHON_SCOPE = 'loom';
const CORE_SCOPE = 'loom_core';

export const AGENT_ID = 'researcher';
export const TOOL_NAME = 'web:search';

export interface LoomTraceOptions {
  /** service.name of the agent (Python) side. */
  service: string;
  /** service.version of both sides: the loom-otel version that generated the trace. */
  version: string;
  /** deployment.environment of both sides. */
  environment: string;
  /** Extra resource attributes of both sides (from OTEL_RESOURCE_ATTRIBUTES); service.name is never taken from here. */
  resourceAttributes?: Record<string, string>;
  /** Extra attributes on the root span (`--attribute k=v`). */
  rootAttributes?: Record<string, string>;
  /** The tool fails: ERROR status and an exception event on the tool spans. */
  error?: boolean;
}

export interface BuiltTrace {
  traceId: string;
  spans: ReadableSpan[];
}

export interface LoomTraceFactory {
  /** Spans in one trace. */
  readonly spansPerTrace: number;
  /** Services the trace spans, agent side first. */
  readonly services: readonly string[];
  /** Builds one trace ending now; synchronous, so traces built back to back never mix. */
  build(): BuiltTrace;
  shutdown(): Promise<void>;
}

/** Hands every finished span to the caller instead of exporting it: the caller exports and reads the result. */
/**
 * A collector's probabilistic_sampler keeps every span whose `sampling.priority` is above 0, so the test
 * trace arrives whole even on a stack that samples (init --sampling below 100).
 */
export const SAMPLING_PRIORITY_ATTRIBUTE = 'sampling.priority';

class CollectingSpanProcessor implements SpanProcessor {
  private finished: ReadableSpan[] = [];
  onStart(span: Span): void {
    span.setAttribute(SAMPLING_PRIORITY_ATTRIBUTE, 1);
  }
  onEnd(span: ReadableSpan): void {
    this.finished.push(span);
  }
  take(): ReadableSpan[] {
    const spans = this.finished;
    this.finished = [];
    return spans;
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** A duration around `ms`, varied by ±20% so repeated traces (and their RED metrics) look like real runs. */
function around(ms: number): number {
  return ms * (0.8 + Math.random() * 0.4);
}

function shortId(): string {
  return Math.random().toString(16).slice(2, 10).padEnd(8, '0');
}

export function createLoomTraceFactory(options: LoomTraceOptions): LoomTraceFactory {
  const shared = {
    ...options.resourceAttributes,
    'service.version': options.resourceAttributes?.['service.version'] ?? options.version,
    'deployment.environment': options.environment,
  };
  const collector = new CollectingSpanProcessor();
  // Always sample: OTEL_TRACES_SAMPLER in the environment must not drop the test trace.
  const provider = (service: string) =>
    new BasicTracerProvider({
      resource: resourceFromAttributes({ ...shared, 'service.name': service }),
      sampler: new AlwaysOnSampler(),
      spanProcessors: [collector],
    });
  const agentProvider = provider(options.service);
  const coreProvider = provider(LOOM_CORE_SERVICE);
  const agent = agentProvider.getTracer(PYTHON_SCOPE);
  const core = coreProvider.getTracer(CORE_SCOPE);
  const propagator = new W3CTraceContextPropagator();

  const build = (): BuiltTrace => {
    collector.take();
    const timeline = new Timeline(agent, core, propagator, options);
    const traceId = timeline.run();
    return { traceId, spans: collector.take() };
  };
  const spansPerTrace = build().spans.length;
  return {
    spansPerTrace,
    services: [options.service, LOOM_CORE_SERVICE],
    build,
    shutdown: async () => {
      await Promise.all([agentProvider.shutdown(), coreProvider.shutdown()]);
    },
  };
}

/** An envelope as Loom's bridge carries it between processes: the trace context travels in its headers. */
interface Envelope {
  id: string;
  headers: Record<string, string>;
}

/**
 * Lays one agent run out on a timeline that ends now. Times are epoch milliseconds; every child starts
 * after and ends before its parent.
 */
class Timeline {
  private readonly end = Date.now();
  private readonly start: number;
  private readonly plan: {
    llm: [number, number, number];
    tool: number;
    request: number;
  };

  constructor(
    private readonly agent: Tracer,
    private readonly core: Tracer,
    private readonly propagator: W3CTraceContextPropagator,
    private readonly options: LoomTraceOptions,
  ) {
    this.plan = { llm: [around(640), around(520), around(410)], tool: around(240), request: around(180) };
    const gaps = 2 + 8 + 6 + 6 + 6 + 6 + 12;
    this.start = this.end - (this.plan.llm[0] + this.plan.llm[1] + this.plan.llm[2] + this.plan.tool + this.plan.request + gaps);
  }

  run(): string {
    const { agent } = this;
    const totalMs = this.end - this.start;
    const root = agent.startSpan(
      'cognitive.run',
      {
        kind: SpanKind.INTERNAL,
        startTime: this.start,
        attributes: {
          'agent.id': AGENT_ID,
          goal: 'Research AI trends',
          strategy: 'react',
          max_iterations: 5,
          iterations: 3,
          tool_calls: 1,
          'duration.ms': Math.round(totalMs),
          ...this.options.rootAttributes,
        },
      },
      ROOT_CONTEXT,
    );
    const rootContext = trace.setSpan(ROOT_CONTEXT, root);
    let t = this.start + 2;
    t = this.llm(rootContext, t, this.plan.llm[0], 512, 64) + 8;
    t = this.toolCall(rootContext, t, this.plan.tool) + 6;
    t = this.llm(rootContext, t, this.plan.llm[1], 780, 96) + 6;
    t = this.request(rootContext, t, this.plan.request) + 6;
    t = this.llm(rootContext, t, this.plan.llm[2], 1050, 210) + 6;
    this.emit(rootContext, t);
    root.end(this.end);
    return root.spanContext().traceId;
  }

  private llm(parent: Context, start: number, ms: number, promptBase: number, completionBase: number): number {
    const prompt = Math.round(around(promptBase));
    const completion = Math.round(around(completionBase));
    const span = this.agent.startSpan(
      'llm.generate',
      {
        kind: SpanKind.CLIENT,
        startTime: start,
        attributes: {
          'llm.provider': 'deepseek',
          'llm.model': 'deepseek-chat',
          'llm.temperature': 0.7,
          'llm.max_tokens': 4096,
          'llm.prompt_tokens': prompt,
          'llm.completion_tokens': completion,
          'llm.total_tokens': prompt + completion,
          'llm.duration_ms': Math.round(ms),
        },
      },
      parent,
    );
    span.end(start + ms);
    return start + ms;
  }

  private toolCall(parent: Context, start: number, ms: number): number {
    const failed = Boolean(this.options.error);
    const end = start + ms;
    const toolCall = this.agent.startSpan(
      'cognitive.tool_call',
      {
        kind: SpanKind.INTERNAL,
        startTime: start,
        attributes: {
          'tool.name': TOOL_NAME,
          'tool.arguments': '{"query": "AI trends"}',
          'tool.success': !failed,
          'tool.latency_ms': Math.round(ms),
          'context.reduced': !failed,
          'context.offloaded': !failed,
        },
      },
      parent,
    );
    const invoke = this.agent.startSpan(
      'tool.invoke',
      {
        kind: SpanKind.CLIENT,
        startTime: start + 1,
        attributes: {
          'tool.name': TOOL_NAME,
          'agent.id': AGENT_ID,
          'timeout.ms': 5000,
          'tool.status': failed ? 'TOOL_ERROR' : 'TOOL_OK',
          'tool.output.size': failed ? 0 : 1024,
        },
      },
      trace.setSpan(parent, toolCall),
    );
    const envelope = this.send(invoke);
    const bridge = this.coreSpan('bridge.publish', SpanKind.SERVER, start + 3, this.receive(envelope), {
      agent_id: AGENT_ID,
      topic: 'tool.calls',
      event_id: envelope.id,
    });
    const execution = this.coreSpan('call', SpanKind.INTERNAL, start + 5, trace.setSpan(ROOT_CONTEXT, bridge), {
      capability: TOOL_NAME,
      call_id: `call_${shortId()}`,
      timeout_ms: 5000,
    });
    if (failed) {
      const exception = { name: 'ToolError', message: `${TOOL_NAME} failed: the search API answered 503 Service Unavailable` };
      for (const [span, at] of [[execution, end - 5], [invoke, end - 1], [toolCall, end]] as const) {
        span.recordException(exception, at);
        span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
      }
    } else {
      for (const span of [execution, invoke, toolCall]) span.setStatus({ code: SpanStatusCode.OK });
    }
    execution.end(end - 5);
    bridge.end(end - 3);
    invoke.end(end - 1);
    toolCall.end(end);
    return end;
  }

  private request(parent: Context, start: number, ms: number): number {
    const span = this.agent.startSpan(
      'event.request',
      {
        kind: SpanKind.CLIENT,
        startTime: start,
        attributes: {
          'event.topic': 'agent.requests',
          'event.type': 'query',
          'agent.id': AGENT_ID,
          'timeout.ms': 5000,
          'correlation.id': `req_${shortId()}`,
        },
      },
      parent,
    );
    this.publish(this.send(span), start, 'agent.requests', 'analyst');
    span.end(start + ms);
    return start + ms;
  }

  private emit(parent: Context, start: number): number {
    const envelopeId = `evt_${shortId()}`;
    const span = this.agent.startSpan(
      'event.emit',
      {
        kind: SpanKind.PRODUCER,
        startTime: start,
        attributes: { 'event.topic': 'agent.results', 'event.type': 'task.completed', 'agent.id': AGENT_ID, 'envelope.id': envelopeId },
      },
      parent,
    );
    this.publish(this.send(span, envelopeId), start, 'agent.results');
    span.end(start + 5);
    return start + 5;
  }

  /** The bridge receives an event, publishes it on the event bus and, for a subscriber, forwards it. */
  private publish(envelope: Envelope, start: number, topic: string, subscriber?: string): void {
    const bridge = this.coreSpan('bridge.publish', SpanKind.SERVER, start + 1, this.receive(envelope), {
      agent_id: AGENT_ID,
      topic,
      event_id: envelope.id,
    });
    const bus = this.coreSpan('publish', SpanKind.PRODUCER, start + 1.5, trace.setSpan(ROOT_CONTEXT, bridge), { topic, event_id: envelope.id });
    if (subscriber) {
      const forward = this.coreSpan('bridge.forward', SpanKind.PRODUCER, start + 2, trace.setSpan(ROOT_CONTEXT, bus), {
        agent_id: subscriber,
        topic,
        event_id: envelope.id,
      });
      forward.end(start + 3);
    }
    bus.end(start + 3.5);
    bridge.end(start + 4);
  }

  /** The agent side: the span's context goes into the outgoing envelope's headers (traceparent). */
  private send(span: Span, id = `evt_${shortId()}`): Envelope {
    const envelope: Envelope = { id, headers: {} };
    this.propagator.inject(trace.setSpan(ROOT_CONTEXT, span), envelope.headers, defaultTextMapSetter);
    return envelope;
  }

  /** The core side: the parent comes only from the envelope's headers, as in another process. */
  private receive(envelope: Envelope): Context {
    return this.propagator.extract(ROOT_CONTEXT, envelope.headers, defaultTextMapGetter);
  }

  private coreSpan(name: string, kind: SpanKind, start: number, parent: Context, attributes: Attributes): Span {
    return this.core.startSpan(name, { kind, startTime: start, attributes }, parent);
  }
}
