/**
 * The fleet's status: each process alive and ready, and the events it handled.
 */
import type { FleetState } from './state';
import { isAlive } from './state';
import { isReady, readCounter } from './probe';

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
  return Promise.all(
    state.processes.map(async (p) => {
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
    }),
  );
}

export function statusLine(statuses: ProcessStatus[]): string {
  const of = (prefix: string) => statuses.filter((s) => s.name.startsWith(prefix));
  const count = (list: ProcessStatus[]) =>
    `${list.filter((s) => s.ready).length}/${list.length} ready`;
  const sum = (list: ProcessStatus[]) => list.reduce((n, s) => n + s.events, 0);
  const nginx = of('nginx')[0];
  return [
    `nginx ${nginx?.ready ? 'up' : 'DOWN'}`,
    `edges ${count(of('edge'))}`,
    `workers ${count(of('worker'))}`,
    `accepted ${sum(of('edge'))}`,
    `processed ${sum(of('worker'))}`,
  ].join(' | ');
}
