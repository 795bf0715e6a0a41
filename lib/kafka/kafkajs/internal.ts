/**
 * kafkajs' internal modules (`kafkajs/src/...`, kafkajs 2.2.4), for the mends of this
 * folder (framing, read_committed, rejoin): each module is mended once per process, by
 * whichever client is built first, and every client of the process has the mend.
 */
import { createRequire } from 'node:module';

const requireKafkajs = createRequire(__filename);
const mended = new Set<string>();

/** Runs `mend` on kafkajs' internal `module` (its path under `kafkajs/src/`) once per process. */
export function mendOnce<T>(module: string, mend: (internal: T) => void): void {
  if (mended.has(module)) return;
  mended.add(module);
  mend(requireKafkajs(`kafkajs/src/${module}`) as T);
}
