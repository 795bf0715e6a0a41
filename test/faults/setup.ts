/**
 * Fault scenarios: start the fault proxy (between the fleet and the broker) and then the
 * fault fleet with the project's own command, from a clean state directory; both are
 * stopped at the end.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { FAULT_FLEET, fleetCli, startFaultProxy, stopFaultProxy } from './fault-fleet';
import { RESULTS_DIR } from './scenario';

export default async function setup(): Promise<void> {
  fleetCli('down');
  await stopFaultProxy();
  rmSync(FAULT_FLEET.stateDir, { recursive: true, force: true });
  rmSync(RESULTS_DIR, { recursive: true, force: true });
  mkdirSync(FAULT_FLEET.stateDir, { recursive: true });
  await startFaultProxy();
  fleetCli('up', '--detach');
}
