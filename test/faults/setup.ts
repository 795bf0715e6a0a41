/**
 * Fault scenarios: start the fault proxy (between the fleet and the broker) and then the
 * fault fleet with the project's own command, from a clean state directory; both are
 * stopped at the end.
 * NOTE: `npm test` runs two of these side by side (the second with INTAKE_TEST_PORT_OFFSET,
 * on ports and state directories of its own); both clear the shared results directory
 * here in their first seconds, long before either's first scenario writes to it (after
 * its fleet started and 20 s of load).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { FAULT_FLEET, fleetCli, startFaultProxy, stopFaultProxy } from './fault-fleet';
import { RESULTS_DIR } from './scenario';

export default async function setup(): Promise<void> {
  fleetCli('down');
  await stopFaultProxy();
  rmSync(FAULT_FLEET.stateDir, { recursive: true, force: true });
  // An HML pass (`INTAKE_FAULTS_LOGGING=hml npm run faults`) adds its columns to the last
  // run's report: it keeps the results that run left.
  if (process.env.INTAKE_FAULTS_LOGGING !== 'hml')
    rmSync(RESULTS_DIR, { recursive: true, force: true });
  mkdirSync(FAULT_FLEET.stateDir, { recursive: true });
  await startFaultProxy();
  fleetCli('up', '--detach');
}
