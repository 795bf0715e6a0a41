/**
 * The local fleet's plan: where its state lives and which ports each process uses.
 * Defaults give the documented local fleet (nginx on 127.0.0.1:8080, broker on 9092);
 * every port and the state directory can be moved with environment variables, which is
 * how the end-to-end tests run a second fleet beside a developer's.
 */
import { resolve } from 'node:path';
import { EnvReader } from '../../../lib/config';

export type ServiceKind = 'edge' | 'worker' | 'puller' | 'demo-upstream';

export interface ProcessSpec {
  name: string;
  kind: ServiceKind;
  port: number;
}

export interface FleetPlan {
  root: string;
  stateDir: string;
  logDir: string;
  httpPort: number;
  /** nginx's TLS listener (self-signed certificate for local use). */
  tlsPort: number;
  kafkaPort: number;
  /**
   * Where edges and workers reach the broker, when not on `kafkaPort`: the port a second
   * listener of the broker is advertised on (`INTAKE_KAFKA_FLEET_PORT`, e.g. a fault
   * proxy in front of it). Tools and the CLI keep the direct listener.
   */
  kafkaFleetPort?: number;
  partitions: number;
  edges: ProcessSpec[];
  workers: ProcessSpec[];
  /** The demo: a numbered SSE upstream and a puller reading it (`INTAKE_DEMO_PULLER=off`: none). */
  demo: ProcessSpec[];
  /** Extra environment for every edge and worker. */
  serviceEnv: Record<string, string>;
}

export interface PlanOptions {
  edges?: number;
  workers?: number;
}

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
    partitions: r.int('INTAKE_PARTITIONS', 6, { min: 1, max: 1000 }),
    edges: specs('edge', options.edges ?? r.int('INTAKE_EDGES', 2, { min: 1, max: 32 }), edgeBase),
    // NOTE: 0 workers is allowed for edge benchmarks (nothing consumes intake.raw).
    workers: specs(
      'worker',
      options.workers ?? r.int('INTAKE_WORKERS', 2, { min: 0, max: 32 }),
      workerBase,
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
    serviceEnv: { INTAKE_DRAIN_GRACE_MS: r.str('INTAKE_DRAIN_GRACE_MS', '1000') },
  };
  r.done();
  return plan;
}

function specs(kind: 'edge' | 'worker', count: number, basePort: number): ProcessSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `${kind}-${i + 1}`,
    kind,
    port: basePort + i,
  }));
}

export const kafkaBrokers = (plan: FleetPlan): string => `127.0.0.1:${plan.kafkaPort}`;

/** The bootstrap address of the fleet's edges and workers. */
export const serviceKafkaBrokers = (plan: FleetPlan): string =>
  `127.0.0.1:${plan.kafkaFleetPort ?? plan.kafkaPort}`;
