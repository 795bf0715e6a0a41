/**
 * The puller after a write that failed without a fencing error (Kafka 4.1 can answer a
 * commit racing a newer writer's start with an unexpected error): it watches the committed
 * position for `ownerCheckMs` before restarting its writer, stands down if the position
 * moves (another puller writes), and takes over if it does not. A real local upstream, a
 * fake writer and position (no Kafka).
 */
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { IntakeError } from '../../lib/errors';
import { createNumberedSse } from '../../services/demo-upstream/numbered-sse';
import type { NumberedSse } from '../../services/demo-upstream/numbered-sse';
import { UpstreamPuller } from '../../services/puller/puller';
import type { PullerOptions } from '../../services/puller/puller';
import type { PositionWriter } from '../../services/puller/tx-writer';
import { waitFor } from '../support/kafka-helpers';

const OPTIONS: PullerOptions = {
  maxEvents: 5,
  lingerMs: 10,
  backoffMs: { initial: 1, max: 1 },
  fencedBackoffMs: 60_000,
  ownerCheckMs: 100,
};

/** A writer whose first write fails with an error that is not a fencing one. */
class FailingOnceWriter implements PositionWriter {
  resets = 0;
  writes = 0;

  start(): Promise<void> {
    return Promise.resolve();
  }

  write(): Promise<void> {
    this.writes += 1;
    return this.writes === 1
      ? Promise.reject(
          new IntakeError('KAFKA_UNAVAILABLE', 'The server experienced an unexpected error'),
        )
      : Promise.resolve();
  }

  reset(): Promise<void> {
    this.resets += 1;
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}

let upstream: NumberedSse;
let url: string;

beforeAll(async () => {
  upstream = createNumberedSse({ ratePerSecond: 1000 });
  await new Promise<void>((r) => upstream.server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(upstream.server.address() as AddressInfo).port}/events`;
});

afterAll(async () => {
  upstream.server.closeAllConnections();
  await new Promise((r) => upstream.server.close(r));
});

/** Runs a puller whose position reads answer `positions` in turn (the last one after). */
function running(positions: string[]): {
  puller: UpstreamPuller;
  writer: FailingOnceWriter;
  reads: () => number;
  stop: () => Promise<void>;
} {
  const writer = new FailingOnceWriter();
  let reads = 0;
  const readPosition = (): Promise<string> =>
    Promise.resolve(positions[Math.min(reads++, positions.length - 1)]!);
  const puller = new UpstreamPuller(
    { name: 'up', url, format: 'sse' },
    writer,
    readPosition,
    pino({ level: 'silent' }),
    OPTIONS,
  );
  const abort = new AbortController();
  const done = puller.run(abort.signal);
  return {
    puller,
    writer,
    reads: () => reads,
    stop: () => {
      abort.abort();
      return done;
    },
  };
}

describe('the puller after a write failed without a fencing error', () => {
  it('stands down when the committed position moves meanwhile: another puller writes', async () => {
    // Read at the first takeover, then before and after the watch: it moved.
    const run = running(['100', '100', '150']);
    try {
      await waitFor(() => run.puller.state === 'standby', { what: 'standby', timeoutMs: 4000 });
      expect(run.writer.writes).toBe(1);
      expect(run.writer.resets).toBe(1); // its first takeover only: it did not fence back
    } finally {
      await run.stop();
    }
  });

  it('takes over again when the position stays where it was', async () => {
    const run = running(['100']);
    try {
      await waitFor(() => run.writer.resets === 2 && run.puller.state === 'active', {
        what: 'a second takeover',
        timeoutMs: 4000,
      });
      expect(run.reads()).toBeGreaterThanOrEqual(4); // takeover, the watch's two, takeover
      await waitFor(() => run.writer.writes >= 2, { what: 'writing again', timeoutMs: 4000 });
    } finally {
      await run.stop();
    }
  });
});
