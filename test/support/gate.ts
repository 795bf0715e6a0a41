/**
 * Holds downstream produce requests until opened; the real broker acknowledges them
 * afterwards. Lets a test look at what is durable and committed before any ack.
 */
import type { Ack, ProduceRequest, Producer } from '../../lib/kafka/port';
import { waitFor } from './kafka-helpers';

export class Gate implements Pick<Producer, 'sendBatch' | 'reset'> {
  open = false;
  requests = 0;

  constructor(private readonly real: Producer) {}

  reset(): Promise<void> {
    return this.real.reset();
  }

  async sendBatch(batch: ProduceRequest): Promise<Ack[]> {
    this.requests += 1;
    await waitFor(() => this.open, { timeoutMs: 120_000, intervalMs: 20, what: 'gate' });
    return this.real.sendBatch(batch);
  }
}
