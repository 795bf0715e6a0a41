/**
 * The fleet's status: each process alive and ready, and the events it handled; each broker
 * alive and accepting connections.
 */
import type { FleetState } from './state';
import { isAlive } from './state';
import { isReady, portOpen, readCounter } from './probe';
import { brokerPid } from './kafka';
import { kafkaNodes } from './plan';

export interface ProcessStatus {
  name: string;
  pid: number;
  port: number;
  alive: boolean;
  ready: boolean;
  /** Edges: events accepted; workers: records consumed. */
  events: number;
}

export async function fleetStatus(state: FleetState): Promise<ProcessStatus[]> {
  const brokers = kafkaNodes(state.plan).map(async (node) => {
    const pid = brokerPid(state.plan, node);
    const ready = pid !== null && (await portOpen(node.port));
    return {
      name: node.name,
      pid: pid ?? 0,
      port: node.port,
      alive: pid !== null,
      ready,
      events: 0,
    };
  });
  const processes = state.processes.map(async (p) => {
    const alive = isAlive(p.pid);
    const ready =
      alive && (p.kind === 'nginx' ? await isReady(p.port, '/healthz') : await isReady(p.port));
    const counter = {
      edge: 'intake_edge_events_accepted_total',
      worker: 'intake_worker_consumed_total',
      puller: 'intake_puller_events_total',
      'demo-upstream': '',
      nginx: '',
      kafka: '',
    }[p.kind];
    const events = alive && counter !== '' ? await readCounter(p.port, counter) : 0;
    return { name: p.name, pid: p.pid, port: p.port, alive, ready, events };
  });
  return Promise.all([...brokers, ...processes]);
}

export function statusLine(statuses: ProcessStatus[]): string {
  const of = (prefix: string) => statuses.filter((s) => s.name.startsWith(prefix));
  const count = (list: ProcessStatus[]) =>
    `${list.filter((s) => s.ready).length}/${list.length} ready`;
  const sum = (list: ProcessStatus[]) => list.reduce((n, s) => n + s.events, 0);
  const nginx = of('nginx')[0];
  return [
    `brokers ${count(of('kafka'))}`,
    `nginx ${nginx?.ready ? 'up' : 'DOWN'}`,
    `edges ${count(of('edge'))}`,
    `workers ${count(of('worker'))}`,
    `accepted ${sum(of('edge'))}`,
    `processed ${sum(of('worker'))}`,
  ].join(' | ');
}
