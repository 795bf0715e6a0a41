/**
 * Subscriptions against a real broker: the edge app's SSE route over one shared fan-out
 * consumer. A filtered subscriber receives exactly the matching records; a resume with
 * Last-Event-ID gets what it missed; a subscriber that never reads is disconnected as a
 * slow consumer while a normal one keeps receiving everything; a key without the topic
 * grant is refused. The WebSocket variant filters the same way.
 */
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Admin, Producer } from '../../../lib/kafka/port';
import { WebSocket } from 'ws';
import { createKeyChecker, parseApiKeys } from '../../../services/edge/http/auth';
import { attachUpgrades } from '../../../services/edge/upgrades';
import { Fanouts, WsSubscribeRoute } from '../../../services/edge/subscribe/subscribe-routes';
import {
  createTopic,
  randomName,
  testKafka,
  waitFor,
  sendRecords,
} from '../../support/kafka-helpers';
import { startTestApp } from '../../support/edge-app';
import type { TestApp } from '../../support/edge-app';
import { MemorySink, silentLogger } from '../../support/fakes';
import { subscribeSse } from '../../support/sse';
import type { SseSubscription } from '../../support/sse';
import { TEST_BROKER } from '../../support/test-env';

const READER = 'k-reader';
const WRITER_ONLY = 'k-writer';

/** A subscription with the reader's key (other headers added or overriding). */
const subscribe = (url: string, headers: Record<string, string> = {}): SseSubscription =>
  subscribeSse(url, { authorization: `Bearer ${READER}`, ...headers });

describe('subscriptions (real broker)', () => {
  const kafka = testKafka(TEST_BROKER.brokers);
  const topic = randomName('sub');
  let admin: Admin;
  let producer: Producer;
  let app: TestApp;
  let fanouts: Fanouts;
  let dropped = 0;

  const publish = async (records: { key: string; type: string; n: number }[]): Promise<void> => {
    await sendRecords(
      producer,
      topic,
      records.map((r) => ({
        key: r.key,
        value: JSON.stringify({ id: `${r.key}-${r.n}`, type: r.type, n: r.n }),
      })),
    );
  };

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await createTopic(admin, topic, 3);
    producer = kafka.producer();
    await producer.connect();
    fanouts = new Fanouts(
      kafka,
      { processed: topic },
      silentLogger(),
      {
        maxSubscribers: 10,
        maxBufferedBytes: 2 * 1024 * 1024,
        heartbeatMs: 60_000,
        ringSize: 1000,
        maxCatchUps: 2,
      },
      () => (dropped += 1),
    );
    const auth = {
      required: true,
      keys: parseApiKeys([`dash:${READER}:processed`, `app:${WRITER_ONLY}`]),
      rateLimit: { perSecond: 1000, burst: 1000 },
    };
    app = await startTestApp({
      sink: new MemorySink(),
      fanouts,
      auth,
    });
    attachUpgrades(
      app.server,
      { '/v1/subscribe/': new WsSubscribeRoute(fanouts) },
      { checkKey: createKeyChecker(auth), isDraining: () => false, defaultSource: 'test' },
    );
  });

  afterAll(async () => {
    await fanouts.stop();
    await app.close();
    await producer.disconnect();
    await admin.disconnect();
  });

  it('delivers exactly the records matching the key and type filter, and resumes after Last-Event-ID', async () => {
    const sub = subscribe(`${app.base}/v1/subscribe/processed?key=alice&type=click`);
    expect((await sub.opened).status).toBe(200);
    await publish([
      { key: 'alice', type: 'click', n: 1 },
      { key: 'bob', type: 'click', n: 2 },
      { key: 'alice', type: 'view', n: 3 },
      { key: 'alice', type: 'click', n: 4 },
    ]);
    await waitFor(() => sub.events.length >= 2, { what: 'two matching events' });
    await new Promise((r) => setTimeout(r, 500));
    sub.close();
    expect(sub.events.map((e) => (JSON.parse(e.data) as { n: number }).n)).toEqual([1, 4]);

    // Resume after the first event: the second one again, plus what came meanwhile.
    await publish([{ key: 'alice', type: 'click', n: 5 }]);
    const resumed = subscribe(`${app.base}/v1/subscribe/processed?key=alice&type=click`, {
      'last-event-id': sub.events[0]!.id!,
    });
    await waitFor(() => resumed.events.length >= 2, { what: 'the missed events' });
    resumed.close();
    expect(resumed.events.map((e) => (JSON.parse(e.data) as { n: number }).n)).toEqual([4, 5]);
  });

  it('disconnects a subscriber that does not read, without holding up the others', async () => {
    const healthy = subscribe(`${app.base}/v1/subscribe/processed`);
    await healthy.opened;
    // A raw client that sends the request and then never reads its socket.
    const port = (app.server.address() as AddressInfo).port;
    const slow = connect(port, '127.0.0.1');
    let slowClosed = false;
    slow.on('close', () => (slowClosed = true));
    slow.on('error', () => undefined);
    slow.write(
      `GET /v1/subscribe/processed HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${READER}\r\n\r\n`,
    );
    await waitFor(() => fanouts.count === 2, { what: 'both subscribed' });
    slow.pause();
    const big = 'x'.repeat(2000);
    const N = 8000; // ~16 MB: far beyond the 2 MiB buffer plus the kernel's socket buffers
    for (let i = 0; i < N; i += 500) {
      await sendRecords(
        producer,
        topic,
        Array.from({ length: 500 }, (_, j) => ({
          key: `k${(i + j) % 10}`,
          value: JSON.stringify({ type: 'bulk', n: i + j, pad: big }),
        })),
      );
    }
    let healthyEnded = false;
    void healthy.done.then(() => (healthyEnded = true));
    await waitFor(() => dropped >= 1, { what: 'the slow subscriber dropped' });
    await waitFor(
      () => {
        const got = healthy.events.filter((e) => e.data.includes('"bulk"')).length;
        if (healthyEnded && got < N)
          throw new Error(
            `the healthy subscriber was ended after ${got} of ${N} (dropped: ${dropped})`,
          );
        return got >= N;
      },
      { what: 'the healthy subscriber got everything', timeoutMs: 90_000 },
    );
    healthy.close();
    slow.destroy();
    expect(dropped).toBe(1);
    await waitFor(() => slowClosed || slow.destroyed, { what: 'slow socket closed' });
  });

  it('serves the same subscription over a WebSocket', async () => {
    const port = (app.server.address() as AddressInfo).port;
    const got: { key: string; value: { n: number } }[] = [];
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/subscribe/processed?type=ws`, {
      headers: { authorization: `Bearer ${READER}` },
    });
    ws.on('message', (d: Buffer) => got.push(JSON.parse(d.toString()) as (typeof got)[number]));
    await new Promise((r) => ws.once('open', r));
    await publish([
      { key: 'w', type: 'ws', n: 1 },
      { key: 'w', type: 'other', n: 2 },
      { key: 'w', type: 'ws', n: 3 },
    ]);
    await waitFor(() => got.length >= 2, { what: 'two WebSocket messages' });
    ws.close();
    expect(got.map((m) => m.value.n)).toEqual([1, 3]);
    expect(got[0]?.key).toBe('w');

    const refused = await new Promise<number>((resolve) => {
      const denied = new WebSocket(`ws://127.0.0.1:${port}/v1/subscribe/processed`, {
        headers: { authorization: `Bearer ${WRITER_ONLY}` },
      });
      denied.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      denied.on('error', () => undefined);
    });
    expect(refused).toBe(403);
  });

  it('refuses a key without the topic grant (403) and an unknown topic (404)', async () => {
    const denied = await fetch(`${app.base}/v1/subscribe/processed`, {
      headers: { authorization: `Bearer ${WRITER_ONLY}` },
    });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('content-type')).toContain('application/problem+json');
    const unknown = await fetch(`${app.base}/v1/subscribe/nope`, {
      headers: { authorization: `Bearer ${READER}` },
    });
    expect(unknown.status).toBe(404);
    const badId = await fetch(`${app.base}/v1/subscribe/processed`, {
      headers: { authorization: `Bearer ${READER}`, 'last-event-id': 'garbage' },
    });
    expect(badId.status).toBe(400);
  });
});
