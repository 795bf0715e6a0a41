import { cli } from './fleet-setup';

export default function teardown(): void {
  cli('down');
}
