/**
 * The delivery factory: `INTAKE_LOGGING` picks the implementation, and the consumer loop and
 * `main()` only ever see the one interface.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TopicPartitions } from '../../../lib/kafka/partitioner';
import { createRegistry } from '../../../lib/metrics';
import { loadWorkerConfig } from '../../../services/worker/config';
import { createDelivery } from '../../../services/worker/delivery/create-delivery';
import { HmlDelivery } from '../../../services/worker/delivery/hml/hml-delivery';
import { SbmlDelivery } from '../../../services/worker/delivery/sbml/sbml-delivery';
import { createWorkerMetrics } from '../../../services/worker/metrics';
import { Outputs } from '../../../services/worker/outbound/outputs';
import { DeliveryProgress } from '../../../services/worker/outbound/progress';
import { FakeBroker, FakeKafka, silentLogger } from '../../support/fakes';

describe('createDelivery', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'intake-delivery-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const partitions = new TopicPartitions();
  partitions.set('progress', 1);
  const build = (logging: string) =>
    createDelivery({
      config: loadWorkerConfig({
        INTAKE_LOGGING: logging,
        INTAKE_OUTBOUND_LOG_DIR: join(dir, 'log'),
      }),
      kafka: new FakeKafka(),
      producer: new FakeBroker(),
      progress: new DeliveryProgress(),
      outputs: new Outputs(
        { processed: 'out', dlq: 'dead', replies: 'replies', progress: 'progress' },
        partitions,
      ),
      metrics: createWorkerMetrics(createRegistry('worker', `factory-${logging}`)),
      logger: silentLogger(),
      keepsState: false,
    });

  it('builds SBML with a durable outbound log by default', async () => {
    const delivery = await build('sbml');
    expect(delivery).toBeInstanceOf(SbmlDelivery);
    expect(delivery.logStats()).toMatchObject({ entries: 0 });
    expect(delivery.mustPause()).toBe(false);
    expect(delivery.writesProgress).toBe(false); // main publishes it on an interval
    expect(await delivery.claim(3)).toBe(0n);
    await delivery.close();
  });

  it('builds the SBML flow without a log for `none`', async () => {
    const delivery = await build('none');
    expect(delivery).toBeInstanceOf(SbmlDelivery);
    expect(delivery.logStats()).toBeNull();
    await delivery.close();
  });

  it('builds HML (transactions, nothing queued locally) for `hml`', async () => {
    const delivery = await build('hml');
    expect(delivery).toBeInstanceOf(HmlDelivery);
    expect(delivery.logStats()).toBeNull();
    expect(delivery.mustPause()).toBe(false);
    expect(delivery.details()).toEqual({ outboundLog: null, senderBacklog: 0 });
    expect(delivery.writesProgress).toBe(true); // in each transaction
    await delivery.close();
  });
});
