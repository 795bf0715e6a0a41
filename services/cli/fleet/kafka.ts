/**
 * The fleet's brokers, through `infra/kafka/kafka.sh` (which fetches the jars, formats the
 * storage on first use, and starts, waits for and stops one node), and the topics. With
 * three brokers each node runs from its own directory `<state>/kafka-<port>` and the
 * topics get replication factor 3 (min.insync.replicas=2, set by `intakeTopics`).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { kafkaDefaults } from '../../../lib/config';
import { createKafkaClient } from '../../../lib/kafka/client';
import type { Admin, KafkaClient } from '../../../lib/kafka/port';
import { sleep } from '../../../lib/lifecycle';
import { createLogger } from '../../../lib/logger';
import { ensureTopics, intakeTopics } from '../../../lib/kafka/topics';
import { sourceTopics } from '../../../lib/sources/topics';
import type { FleetPlan, KafkaNode } from './plan';
import { kafkaBrokerList, kafkaNodes, replicationFactor } from './plan';
import { isAlive } from './state';

const run = promisify(execFile);

/**
 * A broker's heap and JVM options when three share the machine (one broker: kafka.sh's
 * defaults). NOTE: C1-only JIT: three brokers' C2 compiler threads compete for the cores
 * at start; a local broker starts about a quarter faster without them and needs no peak
 * throughput. INTAKE_KAFKA_HEAP and INTAKE_KAFKA_JVM_OPTS override both.
 */
const HEAP_OF_THREE = '512m';
const JVM_OPTS_OF_THREE = '-XX:TieredStopAtLevel=1';

/** Runs kafka.sh for one node (the first, by default). */
export async function kafkaScript(
  plan: FleetPlan,
  node: KafkaNode,
  ...args: string[]
): Promise<string> {
  const nodes = kafkaNodes(plan);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    INTAKE_STATE_DIR: plan.stateDir,
    INTAKE_KAFKA_PORT: String(node.port),
    INTAKE_KAFKA_CONTROLLER_PORT: String(node.controllerPort),
    INTAKE_KAFKA_NODE_ID: String(node.id),
    INTAKE_KAFKA_VOTERS: nodes.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(','),
    INTAKE_KAFKA_REPLICATION: String(replicationFactor(plan)),
    INTAKE_KAFKA_FLEET_PORT: String(plan.kafkaFleetPort ?? ''),
  };
  if (nodes.length > 1) {
    env.INTAKE_KAFKA_HEAP = process.env.INTAKE_KAFKA_HEAP || HEAP_OF_THREE;
    env.INTAKE_KAFKA_JVM_OPTS = process.env.INTAKE_KAFKA_JVM_OPTS || JVM_OPTS_OF_THREE;
  }
  const { stdout } = await run(join(plan.root, 'infra', 'kafka', 'kafka.sh'), args, {
    env,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.trim();
}

/** Starts every node, then waits for each: a node of a quorum needs the others to start. */
export async function startKafka(plan: FleetPlan): Promise<void> {
  const nodes = kafkaNodes(plan);
  for (const node of nodes) await kafkaScript(plan, node, 'start');
  await Promise.all(nodes.map((node) => kafkaScript(plan, node, 'wait', '120')));
}

export async function stopKafka(plan: FleetPlan): Promise<void> {
  await Promise.all(kafkaNodes(plan).map((node) => kafkaScript(plan, node, 'stop')));
}

/** Starts one node (its data directory kept) and waits until it serves clients. */
export async function startBroker(plan: FleetPlan, node: KafkaNode): Promise<void> {
  await kafkaScript(plan, node, 'start');
  await kafkaScript(plan, node, 'wait', '120');
}

export async function stopBroker(plan: FleetPlan, node: KafkaNode): Promise<void> {
  await kafkaScript(plan, node, 'stop');
}

/** The pid of a running node (from the pid file kafka.sh keeps in its directory), or null. */
export function brokerPid(plan: FleetPlan, node: KafkaNode): number | null {
  try {
    const pid = Number(
      readFileSync(join(plan.stateDir, `kafka-${node.port}`, 'kafka.pid'), 'utf8'),
    );
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

export function kafkaRunning(plan: FleetPlan): boolean {
  return kafkaNodes(plan).some((node) => brokerPid(plan, node) !== null);
}

const fleetKafka = (plan: FleetPlan): KafkaClient =>
  createKafkaClient(
    { client: 'kafkajs', clientId: 'intake-cli', brokers: kafkaBrokerList(plan) },
    createLogger('cli'),
    { silent: true },
  );

/** Creates intake.raw, intake.processed, intake.dlq, ... when missing. */
export async function createTopics(plan: FleetPlan): Promise<string[]> {
  const admin = fleetKafka(plan).admin();
  await admin.connect();
  try {
    return await ensureTopics(admin, [
      ...intakeTopics(kafkaDefaults, plan.partitions, replicationFactor(plan)),
      ...sourceTopics(kafkaDefaults, replicationFactor(plan)),
    ]);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits until every replica of the fleet's topics is in sync again (after a broker came
 * back), so the next broker of a rolling restart can stop without leaving a partition
 * below min.insync.replicas.
 */
export async function waitInSync(plan: FleetPlan, timeoutMs = 120_000): Promise<void> {
  const topics = intakeTopics(kafkaDefaults, plan.partitions).map((t) => t.topic);
  const admin = fleetKafka(plan).admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lagging = await underReplicated(admin, topics).catch(() => -1);
      if (lagging === 0) return;
      if (Date.now() > deadline)
        throw new Error(`replicas not back in sync after ${timeoutMs / 1000} s`);
      await sleep(500);
    }
  } finally {
    await admin.disconnect();
  }
}

async function underReplicated(admin: Admin, topics: string[]): Promise<number> {
  const meta = await admin.fetchTopicMetadata(topics);
  return meta
    .flatMap((t) => t.partitions)
    .filter((p) => p.isr.length < p.replicas.length || p.leader < 0).length;
}
