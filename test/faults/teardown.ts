/** Stops the fault fleet. */
import { fleetCli } from './fault-fleet';

export default function teardown(): void {
  fleetCli('down');
}
