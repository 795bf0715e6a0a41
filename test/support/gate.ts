/**
 * Holds downstream produce requests until opened; the real broker acknowledges them
 * afterwards. Lets a test look at what is durable and committed before any ack.
 */
import type { Producer, ProducerBatch, RecordMetadata } from 'kafkajs';
import { waitFor } from './kafka-helpers';

export class Gate {
  open = false;
  requests = 0;

  constructor(private readonly real: Producer) {}

  async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    this.requests += 1;
    await waitFor(() => this.open, { timeoutMs: 120_000, intervalMs: 20, what: 'gate' });
    return this.real.sendBatch(batch);
  }
}
