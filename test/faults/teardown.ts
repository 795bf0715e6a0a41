/** Stops the fault fleet and the fault proxy; after a full run (`npm run faults`) writes the report. */
import { existsSync } from 'node:fs';
import { fleetCli, stopFaultProxy } from './fault-fleet';
import { writeReport } from './report';
import { FULL, RESULTS_DIR } from './scenario';

export default async function teardown(): Promise<void> {
  fleetCli('down');
  await stopFaultProxy();
  if (FULL && existsSync(RESULTS_DIR)) writeReport();
}
