import { createSocket } from 'node:dgram';
import type { Envelope } from '../../../lib/envelope';
import { bodyDefaults } from '../../../services/edge/ingest/body';
import { UdpListener } from '../../../services/edge/udp/udp-listener';
import { silentLogger } from '../../support/fakes';
import { waitFor } from '../../support/kafka-helpers';

describe('UDP one-way listener', () => {
  it('queues the valid events of NDJSON datagrams and counts the invalid ones', async () => {
    const queued: Envelope[] = [];
    let invalid = 0;
    const listener = new UdpListener({
      host: '127.0.0.1',
      port: 0,
      source: 'udp-devices',
      queue: { enqueue: (e) => void queued.push(...e) },
      limits: bodyDefaults,
      logger: silentLogger(),
      onDatagram: (_n, bad) => (invalid += bad),
    });
    const port = await listener.start();
    const client = createSocket('udp4');
    const send = (text: string) =>
      new Promise<void>((r) => client.send(Buffer.from(text), port, '127.0.0.1', () => r()));
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
    client.close();
    await listener.stop();
  });
});
