/** Stops the fault fleet; after a full run (`npm run faults`) writes the report. */
import { existsSync } from 'node:fs';
import { fleetCli } from './fault-fleet';
import { writeReport } from './report';
import { FULL, RESULTS_DIR } from './scenario';

export default function teardown(): void {
  fleetCli('down');
  if (FULL && existsSync(RESULTS_DIR)) writeReport();
}
