/**
 * Integration tests: start a real single-node broker (fresh data) before the suite.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { ROOT, TEST_BROKER } from './test-env';

export const brokerEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  INTAKE_STATE_DIR: TEST_BROKER.stateDir,
  INTAKE_KAFKA_PORT: String(TEST_BROKER.port),
  INTAKE_KAFKA_PARTITIONS: '3',
});

export default function setup(): void {
  const script = resolve(ROOT, 'infra', 'kafka', 'kafka.sh');
  execFileSync(script, ['stop'], { env: brokerEnv(), stdio: 'inherit' });
  rmSync(TEST_BROKER.stateDir, { recursive: true, force: true });
  execFileSync(script, ['start'], { env: brokerEnv(), stdio: 'inherit' });
  execFileSync(script, ['wait', '120'], { env: brokerEnv(), stdio: 'inherit' });
}
