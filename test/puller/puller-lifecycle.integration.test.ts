/**
 * The puller as a real process against the real broker, at the edges of its life: on
 * SIGTERM it commits what it read and exits 0; while its upstream is unreachable its
 * /readyz answers 503, and 200 once the upstream answers.
 */
import type { AddressInfo } from 'node:net';
import type { Admin } from '../../lib/kafka/port';
import { createNumberedSse } from '../../services/demo-upstream/numbered-sse';
import type { NumberedSse } from '../../services/demo-upstream/numbered-sse';
import { createTopic, randomName, readTopic, testKafka, waitFor } from '../support/kafka-helpers';
import { freePort, pullerProcess } from '../support/worker-process';
import { TEST_BROKER } from '../support/test-env';

const kafka = testKafka(TEST_BROKER.brokers);
let admin: Admin;

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
});

afterAll(() => admin.disconnect());

/** A puller of one upstream at `url`, on fresh topics. */
async function pullerOf(url: string, env: Record<string, string> = {}) {
  const raw = randomName('life-raw');
  const positions = randomName('life-pos');
  await createTopic(admin, raw, 3);
  await createTopic(admin, positions, 1);
  const upstream = randomName('up');
  const puller = pullerProcess(
    randomName('puller-life'),
    { name: upstream, url },
    { raw, positions },
    { INTAKE_PULLER_MAX_BACKOFF_MS: '200', ...env },
  );
  return { raw, upstream, puller };
}

async function listen(sse: NumberedSse, port = 0): Promise<string> {
  await new Promise<void>((r) => sse.server.listen(port, '127.0.0.1', r));
  return `http://127.0.0.1:${(sse.server.address() as AddressInfo).port}/events`;
}

async function close(sse: NumberedSse): Promise<void> {
  sse.server.closeAllConnections();
  await new Promise((r) => sse.server.close(r));
}

describe('puller lifecycle (real process, real broker)', () => {
  it('SIGTERM commits the events it read but had not committed, then exits 0', async () => {
    const TOTAL = 300;
    const sse = createNumberedSse({ ratePerSecond: 1000, total: TOTAL });
    // Nothing is committed before the signal: the batch neither fills nor lingers out.
    const { raw, puller } = await pullerOf(await listen(sse), {
      INTAKE_PULLER_BATCH_EVENTS: '100000',
      INTAKE_PULLER_LINGER_MS: '600000',
    });
    try {
      await puller.start();
      await puller.ready();
      await waitFor(async () => (await puller.metric('intake_puller_pending_events')) === TOTAL, {
        what: `${TOTAL} events read`,
      });
      expect(await puller.metric('intake_puller_events_total')).toBe(0);

      expect(await puller.kill('SIGTERM')).toBe(0);

      // Read committed; the commit markers may land just after the process exited.
      const read = await readTopic(kafka, raw, (messages) => messages.length >= TOTAL);
      const ids = read.map((m) => m.headers['intake-id']);
      expect(ids.sort()).toEqual(Array.from({ length: TOTAL }, (_, i) => `demo-${i + 1}`).sort());
    } finally {
      await puller.kill('SIGKILL');
      await close(sse);
    }
  });

  it('is not ready while its upstream is unreachable, and ready once it answers', async () => {
    const port = await freePort();
    const { upstream, puller } = await pullerOf(`http://127.0.0.1:${port}/events`);
    const sse = createNumberedSse({ ratePerSecond: 10 });
    const readyz = async () => {
      const res = await fetch(`http://127.0.0.1:${puller.port}/readyz`).catch(() => null);
      if (!res) return null;
      const body = (await res.json()) as {
        details: Record<string, { state: string; connected: boolean }>;
      };
      return { status: res.status, ...body.details[upstream]! };
    };
    try {
      await puller.start();
      // It owns the upstream and has failed to reach it at least once.
      await waitFor(
        async () =>
          (await readyz())?.state === 'active' &&
          (await puller.metric('intake_puller_reconnects_total')) >= 2,
        { what: 'the puller owning its unreachable upstream' },
      );
      expect(await readyz()).toMatchObject({ status: 503, state: 'active', connected: false });

      await listen(sse, port);
      await puller.ready();
      expect(await readyz()).toMatchObject({ status: 200, state: 'active', connected: true });
      expect(await puller.kill('SIGTERM')).toBe(0);
    } finally {
      await puller.kill('SIGKILL');
      await close(sse);
    }
  });
});
