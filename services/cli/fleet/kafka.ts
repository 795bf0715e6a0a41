/**
 * The fleet's broker, through `infra/kafka/kafka.sh` (which fetches the jars, formats the
 * storage on first use, and starts, waits for and stops the broker), and the topics.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaDefaults } from '../../../lib/config';
import { ensureTopics, intakeTopics } from '../../../lib/kafka/topics';
import type { FleetPlan } from './plan';
import { kafkaBrokers } from './plan';

const run = promisify(execFile);

export async function kafkaScript(plan: FleetPlan, ...args: string[]): Promise<string> {
  const { stdout } = await run(join(plan.root, 'infra', 'kafka', 'kafka.sh'), args, {
    env: {
      ...process.env,
      INTAKE_STATE_DIR: plan.stateDir,
      INTAKE_KAFKA_PORT: String(plan.kafkaPort),
      INTAKE_KAFKA_FLEET_PORT: String(plan.kafkaFleetPort ?? ''),
    },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.trim();
}

export async function startKafka(plan: FleetPlan): Promise<void> {
  await kafkaScript(plan, 'start');
  await kafkaScript(plan, 'wait', '120');
}

export async function stopKafka(plan: FleetPlan): Promise<void> {
  await kafkaScript(plan, 'stop');
}

export async function kafkaRunning(plan: FleetPlan): Promise<boolean> {
  return (await kafkaScript(plan, 'status')).startsWith('running');
}

/** Creates intake.raw, intake.processed and intake.dlq when missing. */
export async function createTopics(plan: FleetPlan): Promise<string[]> {
  const kafka = new Kafka({
    clientId: 'intake-cli',
    brokers: [kafkaBrokers(plan)],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await ensureTopics(admin, intakeTopics(kafkaDefaults, plan.partitions));
  } finally {
    await admin.disconnect();
  }
}
