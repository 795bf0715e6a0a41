/**
 * The local fleet's plan: where its state lives and which ports each process uses.
 * Defaults give the documented local fleet (nginx on 127.0.0.1:8080, broker on 9092);
 * every port and the state directory can be moved with environment variables, which is
 * how the end-to-end tests run a second fleet beside a developer's.
 *
 * Brokers: one (replication factor 1), or three (`--brokers 3` / `INTAKE_BROKERS=3`:
 * combined broker+controller KRaft nodes, a 3-voter quorum, replication factor 3 and
 * min.insync.replicas=2). NOTE: two brokers are refused: with min ISR 2 one broker down
 * would stop every write, with min ISR 1 an acknowledged write could sit on one broker only.
 * Node i (1-based) of n listens on INTAKE_KAFKA_PORT + i - 1 and its controller on
 * INTAKE_KAFKA_PORT + n + i - 1 (one broker: the controller on the next port, as before).
 * NOTE: `INTAKE_KAFKA_FLEET_PORT` is refused with three brokers: its listener binds the
 * client port + 2, which is then the third broker's client port.
 */
import { resolve } from 'node:path';
import { EnvReader, PROCESSING_THREAD } from '../../../lib/config';
import { IntakeError } from '../../../lib/errors';
import { KAFKA_CLIENTS } from '../../../lib/kafka/port';

export type ServiceKind = 'edge' | 'worker' | 'puller' | 'demo-upstream';

export interface ProcessSpec {
  name: string;
  kind: ServiceKind;
  port: number;
  /** Environment of this process alone, over the fleet's (a worker's Kafka client). */
  env?: Record<string, string>;
}

export interface FleetPlan {
  root: string;
  stateDir: string;
  logDir: string;
  httpPort: number;
  /** nginx's TLS listener (self-signed certificate for local use). */
  tlsPort: number;
  /** The first broker's client port; the others follow (see `kafkaNodes`). */
  kafkaPort: number;
  /**
   * Where edges and workers reach the broker, when not on `kafkaPort`: the port a second
   * listener of the broker is advertised on (`INTAKE_KAFKA_FLEET_PORT`, e.g. a fault
   * proxy in front of it). Tools and the CLI keep the direct listener.
   */
  kafkaFleetPort?: number;
  /** Brokers: 1 or 3. */
  brokers: number;
  partitions: number;
  edges: ProcessSpec[];
  /**
   * Port of `edge-1`; `edge-N` listens on this + N - 1 (`intake add edge`). Absent in the
   * records of fleets started before edges could be added: then httpPort + 1.
   */
  edgeBasePort?: number;
  workers: ProcessSpec[];
  /** The demo: a numbered SSE upstream and a puller reading it (`INTAKE_DEMO_PULLER=off`: none). */
  demo: ProcessSpec[];
  /** Extra environment for every edge and worker. */
  serviceEnv: Record<string, string>;
}

export interface PlanOptions {
  edges?: number;
  workers?: number;
  brokers?: number;
  /** The workers' message logging (`INTAKE_LOGGING`): sbml (default) or hml. */
  logging?: 'sbml' | 'hml';
}

/**
 * Per-worker settings, each from a comma-separated list (worker i takes item i, cycling):
 * `INTAKE_WORKER_KAFKA_CLIENTS` (e.g. `kafkajs,platformatic` for a fleet whose workers run
 * both) sets `INTAKE_KAFKA_CLIENT`, `INTAKE_WORKER_PROCESSING_THREADS` (e.g. `off,on`)
 * `INTAKE_WORKER_PROCESSING_THREAD`. Unset, every worker reads those as every service does.
 */
function withWorkerSettings(
  workers: ProcessSpec[],
  lists: Record<string, readonly string[]>,
): ProcessSpec[] {
  const set = Object.entries(lists).filter(([, items]) => items.length > 0);
  if (set.length === 0) return workers;
  return workers.map((w, i) => ({
    ...w,
    env: Object.fromEntries(set.map(([env, items]) => [env, items[i % items.length]!])),
  }));
}

const MAX_EDGES = 32;

export function makePlan(root: string, options: PlanOptions = {}, env = process.env): FleetPlan {
  const r = new EnvReader(env);
  const stateDir = resolve(root, r.str('INTAKE_STATE_DIR', '.intake'));
  const httpPort = r.int('INTAKE_HTTP_PORT', 8080, { min: 1, max: 65535 });
  const edgeBase = r.int('INTAKE_EDGE_BASE_PORT', httpPort + 1, { min: 1, max: 65535 });
  const workerBase = r.int('INTAKE_WORKER_BASE_PORT', 9101, { min: 1, max: 65535 });
  const plan: FleetPlan = {
    root,
    stateDir,
    logDir: resolve(stateDir, 'logs'),
    httpPort,
    tlsPort: r.int('INTAKE_HTTPS_PORT', httpPort + 363, { min: 1, max: 65535 }),
    kafkaPort: r.int('INTAKE_KAFKA_PORT', 9092, { min: 1, max: 65535 }),
    kafkaFleetPort: r.int('INTAKE_KAFKA_FLEET_PORT', 0, { min: 0, max: 65535 }) || undefined,
    brokers: options.brokers ?? Number(r.oneOf('INTAKE_BROKERS', '1', ['1', '3'])),
    partitions: r.int('INTAKE_PARTITIONS', 6, { min: 1, max: 1000 }),
    edges: specs(
      'edge',
      options.edges ?? r.int('INTAKE_EDGES', 2, { min: 1, max: MAX_EDGES }),
      edgeBase,
    ),
    edgeBasePort: edgeBase,
    // NOTE: 0 workers is allowed for edge benchmarks (nothing consumes intake.raw).
    workers: withWorkerSettings(
      specs(
        'worker',
        options.workers ?? r.int('INTAKE_WORKERS', 2, { min: 0, max: 32 }),
        workerBase,
      ),
      {
        INTAKE_KAFKA_CLIENT: r.listOf('INTAKE_WORKER_KAFKA_CLIENTS', KAFKA_CLIENTS),
        INTAKE_WORKER_PROCESSING_THREAD: r.listOf(
          'INTAKE_WORKER_PROCESSING_THREADS',
          PROCESSING_THREAD,
        ),
      },
    ),
    demo: r.bool('INTAKE_DEMO_PULLER', true)
      ? [
          {
            name: 'demo-upstream',
            kind: 'demo-upstream',
            port: r.int('INTAKE_DEMO_UPSTREAM_PORT', httpPort + 60, { min: 1, max: 65535 }),
          },
          {
            name: 'puller-1',
            kind: 'puller',
            port: r.int('INTAKE_PULLER_ADMIN_PORT', workerBase + 49, { min: 1, max: 65535 }),
          },
        ]
      : [],
    serviceEnv: {
      INTAKE_DRAIN_GRACE_MS: r.str('INTAKE_DRAIN_GRACE_MS', '1000'),
      INTAKE_LOGGING: options.logging ?? r.oneOf('INTAKE_LOGGING', 'sbml', ['sbml', 'hml']),
    },
  };
  r.done();
  if (plan.kafkaFleetPort !== undefined && plan.brokers === 3) {
    throw new IntakeError(
      'CONFIG_INVALID',
      `INTAKE_KAFKA_FLEET_PORT cannot be used with three brokers: its listener binds port ${plan.kafkaPort + 2}, the third broker's client port. Use one broker (drop --brokers 3 / INTAKE_BROKERS=3) or unset INTAKE_KAFKA_FLEET_PORT.`,
    );
  }
  return plan;
}

function specs(kind: 'edge' | 'worker', count: number, basePort: number): ProcessSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `${kind}-${i + 1}`,
    kind,
    port: basePort + i,
  }));
}

/** One KRaft node of the fleet's cluster. */
export interface KafkaNode {
  id: number;
  /** `kafka` when the fleet has one broker, else `kafka-1`, `kafka-2`, ... */
  name: string;
  port: number;
  controllerPort: number;
}

/** Plans written before `brokers` existed had one broker. */
const brokersOf = (plan: FleetPlan): number => plan.brokers ?? 1;

export function kafkaNodes(plan: FleetPlan): KafkaNode[] {
  const n = brokersOf(plan);
  return Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    name: n === 1 ? 'kafka' : `kafka-${i + 1}`,
    port: plan.kafkaPort + i,
    controllerPort: plan.kafkaPort + n + i,
  }));
}

/** Replication factor of the fleet's topics: 3 with three brokers (min ISR 2), else 1. */
export const replicationFactor = (plan: FleetPlan): number => (brokersOf(plan) >= 3 ? 3 : 1);

/** Every broker's address: what edges, workers and the puller bootstrap from. */
export const kafkaBrokerList = (plan: FleetPlan): string[] =>
  kafkaNodes(plan).map((node) => `127.0.0.1:${node.port}`);

/** The same, comma-separated (INTAKE_KAFKA_BROKERS). */
export const kafkaBrokers = (plan: FleetPlan): string => kafkaBrokerList(plan).join(',');

/**
 * The bootstrap addresses of the fleet's edges, workers and puller: the brokers, or the
 * fleet listener's advertised port when one is set (one broker only: a fault proxy).
 */
export const serviceKafkaBrokers = (plan: FleetPlan): string =>
  plan.kafkaFleetPort ? `127.0.0.1:${plan.kafkaFleetPort}` : kafkaBrokers(plan);

/**
 * The plan with one more edge: the lowest free number (`edge-3` beside edge-1 and edge-2;
 * `edge-1` again after edge-1 was removed), on its port from the edge base port. Refuses a
 * port another process of the plan uses.
 */
export function withEdgeAdded(plan: FleetPlan): { plan: FleetPlan; edge: ProcessSpec } {
  if (plan.edges.length >= MAX_EDGES) throw new Error(`the fleet already has ${MAX_EDGES} edges`);
  const names = new Set(plan.edges.map((e) => e.name));
  let n = 1;
  while (names.has(`edge-${n}`)) n += 1;
  const port = (plan.edgeBasePort ?? plan.httpPort + 1) + n - 1;
  const taken = [
    { name: 'nginx', port: plan.httpPort },
    { name: 'nginx (TLS)', port: plan.tlsPort },
    ...kafkaNodes(plan).flatMap((node) => [
      { name: node.name, port: node.port },
      { name: `${node.name}'s controller`, port: node.controllerPort },
    ]),
    ...plan.edges,
    ...plan.workers,
    ...plan.demo,
  ].find((p) => p.port === port);
  if (taken) throw new Error(`edge-${n} would listen on ${port}, which ${taken.name} uses`);
  if (port > 65535) throw new Error(`edge-${n} would listen on ${port}, beyond the last port`);
  const edge: ProcessSpec = { name: `edge-${n}`, kind: 'edge', port };
  return { plan: { ...plan, edges: [...plan.edges, edge] }, edge };
}

/** The plan without the edge `name`; refuses to remove the last one (nginx needs one). */
export function withEdgeRemoved(plan: FleetPlan, name: string): FleetPlan {
  if (!plan.edges.some((e) => e.name === name)) {
    throw new Error(
      `the fleet has no edge "${name}"; its edges are ${plan.edges.map((e) => e.name).join(', ')}`,
    );
  }
  if (plan.edges.length === 1) {
    throw new Error(
      `${name} is the last edge: nginx would have nowhere to send requests; add one first`,
    );
  }
  return { ...plan, edges: plan.edges.filter((e) => e.name !== name) };
}
