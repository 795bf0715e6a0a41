import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { brokerEnv } from './broker-setup';
import { ROOT } from './test-env';

export default function teardown(): void {
  execFileSync(resolve(ROOT, 'infra', 'kafka', 'kafka.sh'), ['stop'], {
    env: brokerEnv(),
    stdio: 'inherit',
  });
}
