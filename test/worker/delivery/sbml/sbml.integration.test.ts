/**
 * SBML in the worker against a real broker, in process: outbound records are in the log
 * (and the input committed) before they are sent, and leave it on acknowledgement; group
 * commit syncs once per chunk; a full log pauses consumption; a failing store pauses it
 * too, reports it, and drops nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toKafkaMessage, wrapEvent } from '../../../../lib/envelope';
import { IntakeError } from '../../../../lib/errors';
import { TopicPartitions } from '../../../../lib/kafka/partitioner';
import { createRegistry } from '../../../../lib/metrics';
import { RawConsumer } from '../../../../services/worker/consumer/raw-consumer';
import { createWorkerMetrics } from '../../../../services/worker/metrics';
import { SbmlDelivery } from '../../../../services/worker/delivery/sbml/sbml-delivery';
import type { OutboundLogPort } from '../../../../services/worker/delivery/sbml/log-port';
import type { OutboundRecord } from '../../../../services/worker/outbound/record';
import { Outputs } from '../../../../services/worker/outbound/outputs';
import { openOutboundLog } from '../../../../services/worker/delivery/sbml/outbound-log';
import { DeliveryProgress } from '../../../../services/worker/outbound/progress';
import { OutboundSender } from '../../../../services/worker/delivery/sbml/sender';
import { LocalProcessing } from '../../../../services/worker/processing/local-processing';
import { Pipeline } from '../../../../services/worker/pipeline/pipeline';
import { passThroughStep } from '../../../../services/worker/pipeline/steps/pass-through-step';
import { auditDelivery } from '../../../support/audit';
import { silentLogger } from '../../../support/fakes';
import { Gate } from '../../../support/gate';
import {
  createTopic,
  randomName,
  sendRecords,
  testKafka,
  waitFor,
} from '../../../support/kafka-helpers';
import { fileClients } from '../../../support/file-clients';
import { TEST_BROKER } from '../../../support/test-env';

/** Wraps the real log; appends fail while `failing` (a full disk, a broken store). */
class FlakyLog implements OutboundLogPort {
  failing = false;
  constructor(private readonly real: OutboundLogPort) {}
  append(records: OutboundRecord[]): Promise<void> {
    if (this.failing)
      return Promise.reject(new IntakeError('STORE_FAILED', 'No space left on device (injected)'));
    return this.real.append(records);
  }
  remove(seqs: number[]) {
    return this.real.remove(seqs);
  }
  pending() {
    return this.real.pending();
  }
  stats() {
    return this.real.stats();
  }
  isFull() {
    return this.real.isFull();
  }
  close() {
    return this.real.close();
  }
}

describe('SBML outbound log in the worker (real broker)', () => {
  const kafka = testKafka(TEST_BROKER.brokers);
  const clients = fileClients(kafka);
  const dirs: string[] = [];

  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function setup(opts: { maxEntries?: number; chunk?: number; flaky?: boolean } = {}) {
    const { admin, producer } = clients;
    const topics = {
      raw: randomName('raw'),
      processed: randomName('processed'),
      dlq: randomName('dlq'),
      replies: randomName('replies'),
    };
    for (const t of Object.values(topics)) await createTopic(admin, t, 3);
    const groupId = randomName('sbml');
    const dir = mkdtempSync(join(tmpdir(), 'intake-sbml-'));
    dirs.push(dir);
    const real = await openOutboundLog({
      dir,
      maxEntries: opts.maxEntries ?? 100_000,
      maxBytes: 64 * 1024 * 1024,
      logger: silentLogger(),
    });
    const log = opts.flaky ? new FlakyLog(real) : real;
    const gate = new Gate(producer);
    const sender = new OutboundSender({ log, producer: gate, logger: silentLogger() });
    const delivery = new SbmlDelivery({
      log,
      sender,
      progress: new DeliveryProgress(),
      logger: silentLogger(),
    });
    const partitions = new TopicPartitions();
    await partitions.refresh(admin, [topics.processed, topics.dlq, topics.replies]);
    const outputs = new Outputs(topics, partitions);
    const consumer = new RawConsumer({
      consumer: kafka.consumer({ groupId }),
      delivery,
      processing: new LocalProcessing({
        pipeline: new Pipeline([passThroughStep('sbml-it')]),
        outputs,
      }),
      rawTopic: topics.raw,
      metrics: createWorkerMetrics(createRegistry('worker', 'sbml-it')),
      logger: silentLogger(),
      partitionsConsumedConcurrently: 3,
      maxRecordsPerChunk: opts.chunk ?? 100,
    });
    const committed = async (): Promise<number> => {
      const offsets = await admin.fetchOffsets(groupId, topics.raw);
      return offsets.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    };
    const produce = async (n: number, prefix: string): Promise<string[]> => {
      const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
      const messages = ids.map((id, i) => {
        const r = wrapEvent(
          { id, type: 't', key: `v${i % 7}` },
          { source: 's', pattern: 'request-ack', receivedAt: new Date(), meta: {} },
        );
        if (!r.ok) throw new Error(r.reason);
        return toKafkaMessage(r.envelope);
      });
      await sendRecords(producer, topics.raw, messages);
      return ids;
    };
    return { topics, real, log, gate, sender, delivery, consumer, committed, produce };
  }

  it('logs every outbound record and commits the input before sending, and deletes each entry on acknowledgement', async () => {
    const s = await setup();
    const ids = await s.produce(600, 'sbml');
    await s.consumer.start();
    try {
      await waitFor(async () => (await s.committed()) === 600, {
        what: 'input committed before any ack',
      });
      expect(s.real.stats().entries).toBe(600); // durable in the log, nothing acknowledged yet
      expect(s.gate.requests).toBeGreaterThan(0);
      // Group commit: one sync per chunk of up to 100 records, not one per record.
      expect(s.real.stats().syncs).toBeLessThanOrEqual(600 / 10);
      s.gate.open = true;
      await waitFor(() => s.real.stats().entries === 0, {
        what: 'log emptied by acknowledgements',
      });
      const audit = await auditDelivery(kafka, [s.topics.processed], ids);
      expect(audit.missing).toEqual([]);
      expect(audit.duplicates).toBe(0);
    } finally {
      await s.consumer.stop();
      await s.real.close();
    }
  });

  it('pauses consumption while the log is full, and resumes when acknowledgements drain it', async () => {
    const s = await setup({ maxEntries: 50, chunk: 10 });
    const ids = await s.produce(300, 'full');
    await s.consumer.start();
    try {
      await waitFor(() => s.real.isFull(), { what: 'log full' });
      await new Promise((r) => setTimeout(r, 1000));
      expect(await s.committed()).toBeLessThan(300);
      expect(s.delivery.problem()).toMatch(/full/);
      expect(s.consumer.isPaused()).toBe(true);
      s.gate.open = true;
      const audit = await auditDelivery(kafka, [s.topics.processed], ids);
      expect(audit.missing).toEqual([]);
      await waitFor(async () => (await s.committed()) === 300, { what: 'all committed' });
    } finally {
      await s.consumer.stop();
      await s.real.close();
    }
  });

  it('stops consuming while the store fails, reports it, and drops nothing', async () => {
    const s = await setup({ flaky: true });
    (s.log as FlakyLog).failing = true;
    s.gate.open = true;
    const ids = await s.produce(200, 'flaky');
    await s.consumer.start();
    try {
      await waitFor(() => s.delivery.problem()?.includes('outbound log failing'), {
        what: 'store failure reported',
      });
      await new Promise((r) => setTimeout(r, 1000));
      expect(await s.committed()).toBe(0);
      (s.log as FlakyLog).failing = false;
      const audit = await auditDelivery(kafka, [s.topics.processed], ids);
      expect(audit.missing).toEqual([]);
      await waitFor(() => s.delivery.problem() === null, { what: 'healthy again' });
    } finally {
      await s.consumer.stop();
      await s.real.close();
    }
  });
});
