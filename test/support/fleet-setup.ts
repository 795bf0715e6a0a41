/**
 * End-to-end tests: start the real local fleet with the project's own command
 * (`intake up --detach`: broker, nginx, 2 edges, 2 workers) on the test ports, from a
 * clean state directory.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { E2E_FLEET, ROOT, e2eEnv } from './test-env';

export const cli = (...args: string[]): void => {
  execFileSync(process.execPath, [resolve(ROOT, 'dist', 'services', 'cli', 'main.js'), ...args], {
    env: { ...process.env, ...e2eEnv() },
    stdio: 'inherit',
  });
};

export default function setup(): void {
  cli('down');
  rmSync(E2E_FLEET.stateDir, { recursive: true, force: true });
  cli('up', '--detach');
}
