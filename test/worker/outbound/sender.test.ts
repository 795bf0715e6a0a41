import { OutboundSender } from '../../../services/worker/outbound/sender';
import type { NewEntry } from '../../../services/worker/outbound/log-port';
import { DeliveryProgress } from '../../../services/worker/outbound/progress';
import { FakeBroker, MemoryOutboundLog, silentLogger } from '../../support/fakes';

const entry = (i: number, partition = 0, sourceOffset = i): NewEntry => ({
  topic: 'out',
  partition,
  key: `k${i}`,
  value: Buffer.from(`v${i}`),
  headers: { 'intake-id': `id-${i}` },
  source: { topic: 'raw', partition: 0, offset: String(sourceOffset) },
});

function setup(options = {}) {
  const log = new MemoryOutboundLog();
  const broker = new FakeBroker();
  const delivered: string[] = [];
  const sender = new OutboundSender({
    log,
    producer: broker,
    logger: silentLogger(),
    options: { retryInitialMs: 5, retryMaxMs: 20, ...options },
    onDelivered: (d) => delivered.push(...d.map((x) => `${x.entry.key}@${x.offset}`)),
  });
  return { log, broker, sender, delivered };
}

describe('OutboundSender (SBML)', () => {
  it('keeps entries in the log until the downstream acknowledgement, then deletes them', async () => {
    const { log, broker, sender, delivered } = setup();
    broker.autoAck = false;
    const logged = await log.append([entry(1), entry(2)]);
    sender.dispatch(logged);
    await new Promise((r) => setTimeout(r, 10));
    expect(broker.requests).toHaveLength(1);
    expect(log.entries.size).toBe(2); // sent, not yet acknowledged: still in the log
    broker.autoAck = true;
    broker.release();
    await sender.drain();
    expect(log.entries.size).toBe(0);
    expect(delivered).toEqual(['k1@0', 'k2@1']);
  });

  it('retries a failed request, in order, and reports unhealthy meanwhile', async () => {
    const { log, broker, sender, delivered } = setup();
    broker.failWith = Object.assign(new Error('down'), { name: 'KafkaJSConnectionError' });
    sender.dispatch(await log.append([entry(1), entry(2)]));
    await new Promise((r) => setTimeout(r, 30));
    expect(sender.healthy).toBe(false);
    expect(log.entries.size).toBe(2);
    sender.dispatch(await log.append([entry(3)]));
    broker.failWith = null;
    await sender.drain();
    expect(sender.healthy).toBe(true);
    expect(delivered.map((d) => d.split('@')[0])).toEqual(['k1', 'k2', 'k3']);
    expect(log.entries.size).toBe(0);
  });

  it('retries a failed delete (full disk) without sending the acknowledged chunk again', async () => {
    const { log, broker, sender, delivered } = setup();
    log.failRemovesWith = new Error('outbound log remove failed: Input/output error (code 5)');
    sender.dispatch(await log.append([entry(1), entry(2)]));
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

  it('splits large backlogs into bounded requests', async () => {
    const { log, broker, sender } = setup({ maxRequestBytes: 200 });
    sender.dispatch(await log.append(Array.from({ length: 20 }, (_, i) => entry(i))));
    await sender.drain();
    expect(broker.requests.length).toBeGreaterThan(1);
    expect(broker.recordCount).toBe(20);
  });
});

describe('DeliveryProgress', () => {
  it('moves the delivered watermark only past input whose outputs were all acknowledged', () => {
    const p = new DeliveryProgress();
    p.committed(
      0,
      new Map([
        [10n, 2],
        [11n, 0],
        [12n, 1],
      ]),
      12n,
    );
    expect(p.snapshot(0)).toEqual({ partition: 0, deliveredUpTo: '10', committedNext: '13' });
    p.acknowledged(0, 10n);
    expect(p.snapshot(0)?.deliveredUpTo).toBe('10');
    p.acknowledged(0, 10n);
    expect(p.snapshot(0)?.deliveredUpTo).toBe('12');
    p.acknowledged(0, 12n);
    expect(p.snapshot(0)?.deliveredUpTo).toBe('13');
    expect(p.snapshot(1)).toBeNull();
  });
});
