/**
 * Is the stack `loom-otel up --local` serving it in-process? Its health_check answer carries
 * LOCAL_STACK_HEADER; the collector's own does not. doctor and status then judge the stack as up --local
 * serves it: the collector and Jaeger's query API, without Prometheus, Grafana or a container engine.
 */
import { LOCAL_PORT_ROLES, LOCAL_STACK_HEADER, PORT_OWNER, type PartName, type StackModel } from '../stack/model.js';
import { httpGet } from './health.js';

/** The parts up --local serves: the owners of the ports it listens on. */
export const LOCAL_STACK_PARTS: ReadonlySet<PartName> = new Set(LOCAL_PORT_ROLES.map((role) => PORT_OWNER[role]));

/** Why a part that up --local does not serve is skipped. */
export const NOT_SERVED_LOCALLY = 'served by `loom-otel up --local`, which has no Prometheus/Grafana';

/** One GET to the collector's health URL, bounded by `timeoutMs`. False when nothing, or anything else, answers. */
export async function servedByLocalStack(model: StackModel, timeoutMs: number): Promise<boolean> {
  const url = model.part('collector')?.probes.find((probe) => probe.kind === 'http')?.url;
  if (url === undefined) return false;
  const answer = await httpGet(url, timeoutMs);
  return !('error' in answer) && answer.headers[LOCAL_STACK_HEADER.name] === LOCAL_STACK_HEADER.value;
}
