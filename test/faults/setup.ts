/**
 * Fault scenarios: start the fault fleet with the project's own command, from a clean
 * state directory, and stop it at the end.
 */
import { rmSync } from 'node:fs';
import { FAULT_FLEET, fleetCli } from './fault-fleet';
import { RESULTS_DIR } from './scenario';

export default function setup(): void {
  fleetCli('down');
  rmSync(FAULT_FLEET.stateDir, { recursive: true, force: true });
  rmSync(RESULTS_DIR, { recursive: true, force: true });
  fleetCli('up', '--detach');
}
