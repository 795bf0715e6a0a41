import { DeliveryProgress } from '../../../../services/worker/outbound/progress';
import type { OutboundRecord } from '../../../../services/worker/outbound/record';
import { OutboundSender } from '../../../../services/worker/delivery/sbml/sender';
import {
  FakeBroker,
  MemoryOutboundLog,
  outboundRecord,
  silentLogger,
} from '../../../support/fakes';

const entry = (i: number, partition = 0, sourceOffset = i): OutboundRecord =>
  outboundRecord(i, { partition, sourceOffset });

function setup(options = {}, withLog = true) {
  const log = new MemoryOutboundLog();
  const broker = new FakeBroker();
  const delivered: string[] = [];
  const sender = new OutboundSender({
    log: withLog ? log : null,
    producer: broker,
    logger: silentLogger(),
    options: { retryInitialMs: 5, retryMaxMs: 20, ...options },
  });
  sender.onAcknowledged((records, offsets) =>
    delivered.push(...records.map((r, i) => `${r.key}@${offsets[i]}`)),
  );
  return { log, broker, sender, delivered };
}

async function logged(
  log: MemoryOutboundLog,
  records: OutboundRecord[],
): Promise<OutboundRecord[]> {
  await log.append(records);
  return records;
}

describe('OutboundSender (SBML)', () => {
  it('keeps records in the log until the downstream acknowledgement, then deletes them', async () => {
    const { log, broker, sender, delivered } = setup();
    broker.autoAck = false;
    sender.dispatch(await logged(log, [entry(1), entry(2)]));
    await new Promise((r) => setTimeout(r, 10));
    expect(broker.requests).toHaveLength(1);
    expect(log.entries.size).toBe(2); // sent, not yet acknowledged: still in the log
    expect(delivered).toEqual([]);
    broker.autoAck = true;
    broker.release();
    await sender.drain();
    expect(log.entries.size).toBe(0);
    expect(delivered).toEqual(['k1@0', 'k2@1']);
  });

  it('retries a failed request, in order, and reports unhealthy meanwhile', async () => {
    const { log, broker, sender, delivered } = setup();
    broker.failWith = Object.assign(new Error('down'), { name: 'KafkaJSConnectionError' });
    sender.dispatch(await logged(log, [entry(1), entry(2)]));
    await new Promise((r) => setTimeout(r, 30));
    expect(sender.healthy).toBe(false);
    expect(log.entries.size).toBe(2);
    sender.dispatch(await logged(log, [entry(3)]));
    broker.failWith = null;
    await sender.drain();
    expect(sender.healthy).toBe(true);
    expect(delivered.map((d) => d.split('@')[0])).toEqual(['k1', 'k2', 'k3']);
    expect(log.entries.size).toBe(0);
    expect(broker.resets).toBeGreaterThan(0);
  });

  it('retries a failed delete (full disk) without sending the acknowledged chunk again', async () => {
    const { log, broker, sender, delivered } = setup();
    log.failRemovesWith = new Error('outbound log remove failed: Input/output error (code 5)');
    sender.dispatch(await logged(log, [entry(1), entry(2)]));
    await new Promise((r) => setTimeout(r, 40));
    expect(sender.healthy).toBe(false);
    expect(sender.lastError).toMatch(/delete failing/);
    expect(log.entries.size).toBe(2);
    log.failRemovesWith = null;
    await sender.drain();
    expect(broker.requests).toHaveLength(1);
    expect(broker.recordCount).toBe(2);
    expect(delivered.map((d) => d.split('@')[0])).toEqual(['k1', 'k2']);
    expect(log.entries.size).toBe(0);
    expect(sender.healthy).toBe(true);
  });

  it('resends everything still in the log on start', async () => {
    const { log, broker, sender } = setup();
    await log.append([entry(1), entry(2), entry(3)]); // left by a crashed process
    expect(await sender.resendPending()).toBe(3);
    expect(broker.recordCount).toBe(3);
    expect(log.entries.size).toBe(0);
  });

  it('starts resending while it still reads a large log, in order', async () => {
    const { log, broker, sender } = setup();
    const left = Array.from({ length: 12_000 }, (_, i) => entry(i + 1, i % 3));
    await log.append(left);
    let read = 0;
    let readAtFirstRequest: number | null = null;
    const pending = log.pending.bind(log);
    function* counted(): Iterable<OutboundRecord> {
      for (const r of pending()) {
        read += 1;
        yield r;
      }
    }
    // Lazily, as the LMDB log reads: one record at a time.
    log.pending = counted as unknown as () => OutboundRecord[];
    const send = broker.sendBatch.bind(broker);
    broker.sendBatch = (batch) => {
      readAtFirstRequest ??= read;
      return send(batch);
    };
    expect(await sender.resendPending()).toBe(12_000);
    expect(readAtFirstRequest).toBeLessThan(12_000);
    expect(broker.recordCount).toBe(12_000);
    expect(log.entries.size).toBe(0);
  });

  it('splits large backlogs into bounded requests', async () => {
    const { log, broker, sender } = setup({ maxRequestBytes: 200 });
    sender.dispatch(
      await logged(
        log,
        Array.from({ length: 20 }, (_, i) => entry(i)),
      ),
    );
    await sender.drain();
    expect(broker.requests.length).toBeGreaterThan(1);
    expect(broker.recordCount).toBe(20);
  });

  it('bounds each partition of a request, so no record batch exceeds the broker limit', async () => {
    const { log, broker, sender } = setup({ maxRequestBytes: 1e9, maxPartitionBytes: 400 });
    const records = Array.from({ length: 30 }, (_, i) => entry(i, i % 3));
    sender.dispatch(await logged(log, records));
    await sender.drain();
    expect(broker.recordCount).toBe(30);
    for (const request of broker.requests) {
      for (const { messages } of request.topicMessages ?? []) {
        const perPartition = new Map<number, number>();
        for (const m of messages) {
          let size = (m.value as Buffer).length + String(m.key).length * 3 + 32;
          for (const [k, v] of Object.entries(m.headers ?? {}))
            size += (k.length + String(v).length) * 3 + 8;
          perPartition.set(m.partition!, (perPartition.get(m.partition!) ?? 0) + size);
        }
        for (const bytes of perPartition.values()) expect(bytes).toBeLessThanOrEqual(400);
      }
    }
    expect(broker.requests.length).toBeGreaterThan(1);
  });
});

describe('OutboundSender without a log (send and wait)', () => {
  it('resolves send() only once its records are acknowledged, and deletes nothing', async () => {
    const { log, broker, sender, delivered } = setup({}, false);
    broker.autoAck = false;
    let done = false;
    const sent = sender.send([entry(1), entry(2)]).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(done).toBe(false);
    broker.autoAck = true;
    broker.release();
    await sent;
    expect(delivered).toEqual(['k1@0', 'k2@1']);
    expect(log.removes).toBe(0);
  });

  it('keeps retrying a failing downstream; send() resolves once it is back', async () => {
    const { broker, sender } = setup({}, false);
    broker.failWith = Object.assign(new Error('down'), { name: 'KafkaJSConnectionError' });
    let done = false;
    const sent = sender.send([entry(1)]).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(done).toBe(false);
    expect(sender.healthy).toBe(false);
    broker.failWith = null;
    await sent;
    expect(sender.healthy).toBe(true);
  });
});

describe('DeliveryProgress', () => {
  it('moves the delivered watermark only past input whose outputs were all acknowledged', () => {
    const p = new DeliveryProgress();
    const a = entry(1, 0, 10);
    const b = entry(2, 0, 10);
    const c = entry(3, 0, 12);
    p.committed(0, [a, b, c], 12n); // offset 11 produced nothing
    expect(p.snapshot(0)).toEqual({ partition: 0, deliveredUpTo: '10', committedNext: '13' });
    expect(p.hasPending(0)).toBe(true);
    p.acknowledged([a]);
    expect(p.snapshot(0)?.deliveredUpTo).toBe('10');
    p.acknowledged([b]);
    expect(p.snapshot(0)?.deliveredUpTo).toBe('12');
    p.acknowledged([c]);
    expect(p.snapshot(0)?.deliveredUpTo).toBe('13');
    expect(p.hasPending(0)).toBe(false);
    expect(p.snapshot(1)).toBeNull();
  });

  it('ignores acknowledgements of records it never saw committed (resent after a restart)', () => {
    const p = new DeliveryProgress();
    p.committed(0, [entry(1, 0, 5)], 5n);
    p.acknowledged([entry(9, 0, 2), outboundRecord(8, { source: { partition: 1, offset: '5' } })]);
    expect(p.snapshot(0)?.deliveredUpTo).toBe('5');
  });

  it('keeps the watermark right across many acknowledgements (the queue compacts)', () => {
    const p = new DeliveryProgress();
    const records = Array.from({ length: 5000 }, (_, i) => entry(i, 0, i));
    p.committed(0, records, 4999n);
    p.acknowledged(records.slice(0, 4000));
    expect(p.snapshot(0)?.deliveredUpTo).toBe('4000');
    p.acknowledged(records.slice(4000));
    expect(p.snapshot(0)?.deliveredUpTo).toBe('5000');
  });
});
