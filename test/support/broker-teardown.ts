import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { brokerInContainer, stopBrokerContainer } from './broker-container';
import { brokerEnv } from './broker-setup';
import { ROOT } from './test-env';

export default async function teardown(): Promise<void> {
  if (brokerInContainer()) return stopBrokerContainer();
  execFileSync(resolve(ROOT, 'infra', 'kafka', 'kafka.sh'), ['stop'], {
    env: brokerEnv(),
    stdio: 'inherit',
  });
}
