/**
 * One owner per upstream: two real puller processes on ONE upstream and a real broker.
 * The newer puller fences the older one, which stands down (its /readyz says so) instead
 * of fencing back; the owner is SIGSTOPped, the one standing by takes over once the
 * committed position stops moving, the stopped one resumes and finds itself fenced; then
 * SIGKILLs of each in turn. In the end every upstream event is in the raw topic exactly
 * once (read committed), and the committed position never went back.
 */
import type { AddressInfo } from 'node:net';
import type { Admin } from '../../lib/kafka/port';
import { createNumberedSse } from '../../services/demo-upstream/numbered-sse';
import { createTopic, randomName, readTopic, testKafka, waitFor } from '../support/kafka-helpers';
import type { ServiceProcess } from '../support/worker-process';
import { pullerProcess } from '../support/worker-process';
import { TEST_BROKER } from '../support/test-env';

const TOTAL = 9000;
/**
 * How long a step may take (a puller starting, standing by, taking over): generous, for a
 * machine loaded by the other stages; these are waits, not measurements.
 */
const LIVENESS_MS = 90_000;

describe('two pullers on one upstream (real processes, real broker)', () => {
  const kafka = testKafka(TEST_BROKER.brokers);
  const raw = randomName('own-raw');
  const positions = randomName('own-pos');
  const name = randomName('up');
  const upstream = createNumberedSse({ ratePerSecond: 600, total: TOTAL });
  let admin: Admin;
  let a: ServiceProcess;
  let b: ServiceProcess;

  const puller = (id: string, url: string): ServiceProcess =>
    pullerProcess(
      id,
      { name, url },
      { raw, positions },
      { INTAKE_PULLER_FENCED_BACKOFF_MS: '2000' },
    );

  /** The puller's /readyz: its status and what it says of the upstream. */
  const readiness = async (p: ServiceProcess): Promise<{ status: number; state?: string }> => {
    const res = await fetch(`http://127.0.0.1:${p.port}/readyz`);
    const body = (await res.json()) as { details?: Record<string, { state?: string }> };
    return { status: res.status, state: body.details?.[name]?.state };
  };
  const standingBy = (p: ServiceProcess): Promise<unknown> =>
    waitFor(
      async () => {
        const r = await readiness(p);
        return r.status === 503 && r.state === 'standby';
      },
      { timeoutMs: LIVENESS_MS, what: `${p.name} standing by` },
    );

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await createTopic(admin, raw, 3);
    await createTopic(admin, positions, 1, [{ name: 'cleanup.policy', value: 'compact' }]);
    await new Promise<void>((r) => upstream.server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(upstream.server.address() as AddressInfo).port}/events`;
    a = puller('puller-a', url);
    b = puller('puller-b', url);
  });

  afterAll(async () => {
    b.child?.kill('SIGCONT');
    await Promise.all([a.kill('SIGTERM'), b.kill('SIGTERM')]);
    upstream.server.closeAllConnections();
    await new Promise((r) => upstream.server.close(r));
    await admin.disconnect();
  });

  it('never both write: 0 missing, 0 duplicates, the position never goes back', async () => {
    await a.start();
    await a.ready(LIVENESS_MS);
    await waitFor(() => upstream.highest >= 1000, {
      timeoutMs: LIVENESS_MS,
      what: 'upstream past 1000',
    });

    // B starts: it fences A, which stands down instead of fencing B back.
    await b.start();
    await b.ready(LIVENESS_MS);
    await standingBy(a);
    await waitFor(() => upstream.highest >= 2500, {
      timeoutMs: LIVENESS_MS,
      what: 'upstream past 2500',
    });

    // B hangs: the position stops moving, A takes over; B, resumed, is fenced and stands by.
    b.child!.kill('SIGSTOP');
    await a.ready(LIVENESS_MS);
    await waitFor(() => upstream.highest >= 4500, {
      timeoutMs: LIVENESS_MS,
      what: 'upstream past 4500',
    });
    b.child!.kill('SIGCONT');
    await standingBy(b);

    // The owner dies: the one standing by takes over; then that one dies and A restarts.
    await a.kill('SIGKILL');
    await b.ready(LIVENESS_MS);
    await waitFor(() => upstream.highest >= 7000, {
      timeoutMs: LIVENESS_MS,
      what: 'upstream past 7000',
    });
    await b.kill('SIGKILL');
    await a.start();
    await a.ready(LIVENESS_MS);

    const ids = new Map<string, number>();
    await readTopic(
      kafka,
      raw,
      (messages) => {
        ids.clear();
        for (const m of messages) {
          const id = m.headers['intake-id']!;
          ids.set(id, (ids.get(id) ?? 0) + 1);
        }
        return ids.size >= TOTAL;
      },
      120_000,
    );
    const missing = Array.from({ length: TOTAL }, (_, i) => `demo-${i + 1}`).filter(
      (id) => !ids.has(id),
    );
    const duplicates = [...ids.values()].reduce((n, c) => n + c - 1, 0);

    const stored = await readTopic(kafka, positions, (messages) =>
      messages.some((m) => m.key === name && m.value.includes(`"${TOTAL}"`)),
    );
    const trail = stored
      .filter((m) => m.key === name)
      .sort((x, y) => Number(BigInt(x.offset) - BigInt(y.offset)))
      .map((m) => Number((JSON.parse(m.value) as { position: string }).position));
    const backwards = trail.filter((p, i) => i > 0 && p < trail[i - 1]!);
    console.log(
      `two pullers: ${TOTAL} upstream events, ${upstream.connections} connections, ${missing.length} missing, ${duplicates} duplicates; ${trail.length} positions committed, ${backwards.length} going back`,
    );
    expect(missing).toEqual([]);
    expect(duplicates).toBe(0);
    expect(trail[trail.length - 1]).toBe(TOTAL);
    expect(backwards).toEqual([]);
  });
});
