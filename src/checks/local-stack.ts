/**
 * Is the stack `loom-otel up --local` serving it in-process? Its health_check answer carries
 * LOCAL_STACK_HEADER; the collector's own does not. doctor and status then judge the stack as up --local
 * serves it: the collector and Jaeger's query API, without Prometheus, Grafana or a container engine.
 */
import { LOCAL_STACK_HEADER, type PartName, type StackModel } from '../stack/model.js';
import { httpGet } from './health.js';

/**
 * The parts up --local serves: the owners of LOCAL_PORT_ROLES in src/local/stack.ts, which cannot be
 * imported here because it loads protobufjs (doctor and status must start fast).
 */
export const LOCAL_STACK_PARTS: ReadonlySet<PartName> = new Set<PartName>(['collector', 'jaeger']);

/** Why a part that up --local does not serve is skipped. */
export const NOT_SERVED_LOCALLY = 'served by `loom-otel up --local`, which has no Prometheus/Grafana';

/** One GET to the collector's health URL, bounded by `timeoutMs`. False when nothing, or anything else, answers. */
export async function servedByLocalStack(model: StackModel, timeoutMs: number): Promise<boolean> {
  const url = model.part('collector')?.probes.find((probe) => probe.kind === 'http')?.url;
  if (url === undefined) return false;
  const answer = await httpGet(url, timeoutMs);
  return !('error' in answer) && answer.headers[LOCAL_STACK_HEADER.name] === LOCAL_STACK_HEADER.value;
}
