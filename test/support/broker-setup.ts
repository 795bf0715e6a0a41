/**
 * Integration tests: start a real single-node broker (fresh data) before the suite: the
 * Maven-jar broker of infra/kafka/kafka.sh, or with INTAKE_TEST_BROKER=container the
 * locally built Kafka image through testcontainers (broker-container.ts).
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  brokerInContainer,
  pauseBrokerContainer,
  resumeBrokerContainer,
  startBrokerContainer,
} from './broker-container';
import { ROOT, TEST_BROKER } from './test-env';

export const brokerEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  INTAKE_STATE_DIR: TEST_BROKER.stateDir,
  INTAKE_KAFKA_PORT: String(TEST_BROKER.port),
  INTAKE_KAFKA_PARTITIONS: '3',
});

export default async function setup(): Promise<void> {
  if (brokerInContainer()) return startBrokerContainer();
  const script = resolve(ROOT, 'infra', 'kafka', 'kafka.sh');
  execFileSync(script, ['stop'], { env: brokerEnv(), stdio: 'inherit' });
  rmSync(TEST_BROKER.stateDir, { recursive: true, force: true });
  execFileSync(script, ['start'], { env: brokerEnv(), stdio: 'inherit' });
  execFileSync(script, ['wait', '120'], { env: brokerEnv(), stdio: 'inherit' });
}

const kafkaSh = (...args: string[]): void => {
  execFileSync(resolve(ROOT, 'infra', 'kafka', 'kafka.sh'), args, {
    env: brokerEnv(),
    stdio: 'inherit',
  });
};

/** Stops the suite's broker, keeping its data (a test of a Kafka outage). */
export async function stopTestBroker(): Promise<void> {
  if (brokerInContainer()) return pauseBrokerContainer();
  kafkaSh('stop');
}

/** Starts the stopped broker again and waits until it answers. */
export async function startTestBroker(): Promise<void> {
  if (brokerInContainer()) return resumeBrokerContainer();
  kafkaSh('start');
  kafkaSh('wait', '120');
}
