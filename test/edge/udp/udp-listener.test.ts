import { createSocket } from 'node:dgram';
import type { Envelope } from '../../../lib/envelope';
import { createRegistry } from '../../../lib/metrics';
import { FleetQuotas } from '../../../lib/sources/quota';
import { bodyDefaults } from '../../../services/edge/ingest/body';
import { createEdgeMetrics } from '../../../services/edge/metrics';
import { SourcePolicy } from '../../../services/edge/sources/source-policy';
import { UdpListener } from '../../../services/edge/udp/udp-listener';
import { silentLogger } from '../../support/fakes';
import { waitFor } from '../../support/kafka-helpers';

/** A listener on a free port, what it queued, and a client sending datagrams to it. */
async function listen(deps: Partial<ConstructorParameters<typeof UdpListener>[0]> = {}) {
  const queued: Envelope[] = [];
  const listener = new UdpListener({
    host: '127.0.0.1',
    port: 0,
    source: 'udp-devices',
    queue: { enqueue: (e) => void queued.push(...e) },
    limits: bodyDefaults,
    logger: silentLogger(),
    ...deps,
  });
  const port = await listener.start();
  const client = createSocket('udp4');
  const send = (text: string) =>
    new Promise<void>((r) => client.send(Buffer.from(text), port, '127.0.0.1', () => r()));
  const stop = async (): Promise<void> => {
    client.close();
    await listener.stop();
  };
  return { queued, send, stop };
}

describe('UDP one-way listener', () => {
  it('queues the valid events of NDJSON datagrams and counts the invalid ones', async () => {
    let invalid = 0;
    const { queued, send, stop } = await listen({ onDatagram: (_n, bad) => (invalid += bad) });
    await send(
      '{"type":"reading","key":"rfid-1","data":{"v":1}}\n{"type":"reading","key":"rfid-1","data":{"v":2}}',
    );
    await send('not json\n{"nope":1}');
    await send(Buffer.from([0xff, 0xfe]).toString('latin1'));
    await waitFor(() => queued.length === 2 && invalid >= 3, {
      timeoutMs: 5000,
      what: 'datagrams',
    });
    expect(queued.map((e) => (e.data as { v: number }).v)).toEqual([1, 2]);
    expect(queued[0]).toMatchObject({
      source: 'udp-devices',
      pattern: 'one-way',
      key: 'rfid-1',
      meta: { ip: '127.0.0.1' },
    });
    await stop();
  });

  it("drops the events of a datagram over the source's quota, counted as limited", async () => {
    const metrics = createEdgeMetrics(createRegistry('edge', 'test'), { inFlightBytes: () => 0 });
    const quotas = new FleetQuotas({ edge: 'e', quotasOf: () => ({ perDay: 2, perDayGrace: 0 }) });
    const { queued, send, stop } = await listen({
      sources: new SourcePolicy({
        quotas,
        privacy: () => undefined,
        forgotten: () => false,
        events: metrics.sourceEvents,
      }),
    });
    const limited = async (): Promise<number> =>
      (await metrics.sourceEvents.get()).values.find(
        (v) => v.labels.source === 'udp-devices' && v.labels.outcome === 'limited',
      )?.value ?? 0;
    await send('{"type":"a","id":"u1"}\n{"type":"a","id":"u2"}');
    await waitFor(() => queued.length === 2, { timeoutMs: 5000, what: 'the first datagram' });
    await send('{"type":"a","id":"u3"}\n{"type":"a","id":"u4"}');
    await waitFor(async () => (await limited()) === 2, { timeoutMs: 5000, what: 'the drop' });
    expect(queued.map((e) => e.id)).toEqual(['u1', 'u2']);
    await stop();
  });
});
