/**
 * The sink every transport of the edge writes through once sources are followed: each
 * envelope passes its source's policy (`SourcePolicy.write`: IP, user agent, redaction,
 * suppressed and forgotten keys) before the Kafka sink sees it, so no transport writes a
 * field its source redacts. A dropped envelope (a suppressed key) is not written; its
 * place in the answer is `{id, partition: -1, offset: "-1"}`, which only transports
 * without receipts see (`POST /v1/events` leaves such events out before storing).
 */
import type { Envelope } from '../../../lib/envelope';
import type { Health } from '../../../lib/lifecycle';
import type { Sink, StoredEvent } from '../sink';
import type { SourcePolicy } from './source-policy';

export class PolicySink implements Sink {
  constructor(
    private readonly inner: Sink,
    private readonly policy: SourcePolicy,
  ) {}

  async store(envelopes: Envelope[]): Promise<StoredEvent[]> {
    const written: Envelope[] = [];
    const places: (number | null)[] = [];
    for (const envelope of envelopes) {
      const kept = this.policy.write(envelope);
      places.push(kept ? written.push(kept) - 1 : null);
    }
    if (written.length === envelopes.length && written.every((e, i) => e === envelopes[i]))
      return this.inner.store(envelopes);
    const stored = written.length > 0 ? await this.inner.store(written) : [];
    return places.map((place, i) =>
      place === null ? { id: envelopes[i]!.id, partition: -1, offset: '-1' } : stored[place]!,
    );
  }

  isHealthy(): boolean {
    return this.inner.isHealthy();
  }

  hasRoom(bytes: number): boolean {
    return this.inner.hasRoom(bytes);
  }

  queuedBytes(): number {
    return this.inner.queuedBytes();
  }

  onDequeued(listener: () => void): void {
    this.inner.onDequeued(listener);
  }

  retryAfterSeconds(): number {
    return this.inner.retryAfterSeconds();
  }

  health(): Health {
    return this.inner.health();
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }
}
