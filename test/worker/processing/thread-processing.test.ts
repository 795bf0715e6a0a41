/**
 * The processing thread against the processing on the calling thread: the same records
 * for the same chunks, its state (scores, recent ids) kept and restored there, and its
 * failures reaching the consumer's thread. The thread runs the build (`dist/`, which
 * `npm test` makes before the unit tests).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaDefaults } from '../../../lib/config';
import { IntakeError, isRetriable } from '../../../lib/errors';
import type { ConsumedRecord } from '../../../lib/kafka/port';
import { pipelineDefaults } from '../../../services/worker/pipeline/config';
import { buildLocalProcessing } from '../../../services/worker/processing/local-processing';
import type { ProcessingSettings } from '../../../services/worker/processing/local-processing';
import { ThreadProcessing } from '../../../services/worker/processing/thread-processing';
import type { OutboundRecord } from '../../../services/worker/outbound/record';
import { silentLogger } from '../../support/fakes';
import { rawMessage } from '../../support/raw-message';

const entry = join(__dirname, '../../../dist/services/worker/processing/processing-thread.js');
const { topics } = kafkaDefaults;
const settings = (more: Partial<ProcessingSettings> = {}): ProcessingSettings => ({
  pipeline: pipelineDefaults,
  dedup: { windowMs: 60_000, maxPerPartition: 1000 },
  topics,
  partitionCounts: {
    [topics.processed]: 6,
    [topics.dlq]: 2,
    [topics.scores]: 6,
    [topics.replies]: 3,
    [topics.rejections]: 2,
  },
  instance: 'w-test',
  ...more,
});

const chunk = (from: number, n: number): ConsumedRecord[] =>
  Array.from({ length: n }, (_, i) =>
    rawMessage(
      {
        id: `e${from + i}`,
        type: i % 5 === 4 ? 'add_to_cart' : 'page_view',
        key: `v${i % 3}`,
        // every 7th one fails validation: a dead letter and a rejection
        data: i % 7 === 6 ? {} : i % 5 === 4 ? { sku: 's', quantity: 1, price: 2 } : { path: '/' },
      },
      from + i,
      { timestamp: 1000 + i, ...(i === 2 ? { replyTo: 'edge-1' } : {}) },
    ),
  );

/** A record without what changes from run to run (times). */
const stable = (r: OutboundRecord): unknown => {
  const timeless = (v: unknown): unknown =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v)
            .filter(([k]) => !/At$|(^|-)at$|^latencyMs$/.test(k))
            .map(([k, x]) => [k, timeless(x)]),
        )
      : v;
  return { ...r, value: timeless(JSON.parse(r.value.toString())), headers: timeless(r.headers) };
};

const started: ThreadProcessing[] = [];
const start = async (
  more: Partial<ProcessingSettings> = {},
  onFailure: (err: Error) => void = () => {},
): Promise<ThreadProcessing> => {
  const p = await ThreadProcessing.start({ settings: settings(more), onFailure, entry });
  started.push(p);
  return p;
};
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.close()));
});

/** A step module (a user's own step) written for one test. */
function stepModule(body: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'intake-step-'));
  const path = join(dir, 'step.js');
  writeFileSync(
    path,
    `exports.createStep = () => ({ name: 'custom', run: (event) => { ${body} } });`,
  );
  return path;
}

describe('the processing thread', () => {
  it('makes the same records as the processing on the calling thread, in the same order', async () => {
    const thread = await start();
    const local = buildLocalProcessing(settings(), silentLogger());
    for (const [from, n] of [
      [0, 40],
      [40, 25],
    ] as const) {
      const input = { topic: topics.raw, partition: 1, messages: chunk(from, n) };
      const [there, here] = await Promise.all([thread.process(input), local.process(input)]);
      expect(there.records.map(stable)).toEqual(here.records.map(stable));
      expect([there.processed, there.dlq, there.dropped]).toEqual([
        here.processed,
        here.dlq,
        here.dropped,
      ]);
      expect(there.dlq).toBeGreaterThan(0);
      expect(there.records.some((r) => r.topic === topics.scores)).toBe(true);
    }
  });

  it('keeps the ids of a chunk for deduplication once its hand-off is committed, not before', async () => {
    const thread = await start();
    expect(thread.ids.enabled).toBe(true);
    const input = { topic: topics.raw, partition: 0, messages: chunk(0, 10) };
    const first = await thread.process(input);
    expect((await thread.process(input)).duplicates).toBe(0); // not committed: processed again
    thread.committed(0, first); // an abandoned chunk's outcome: no longer the one waiting
    expect((await thread.process(input)).duplicates).toBe(0);
    thread.committed(0, await thread.process(input));
    expect((await thread.process(input)).duplicates).toBe(10);
    expect(await thread.ids.size(0)).toBe(10);
    thread.ids.forget(0);
    expect(await thread.ids.size(0)).toBe(0);
    await thread.ids.restore(0, [{ id: 'e3', at: 1003 }], 2000);
    expect((await thread.process(input)).duplicates).toBe(1);
  });

  it('scores on the state it restored, and drops a visitor on request', async () => {
    const thread = await start();
    const scores = thread.scores!;
    const counts = { pageViews: 40, productViews: 0, carts: 9, checkouts: 0 };
    const restored = {
      visitorId: 'v0',
      score: 0.9,
      counts,
      updatedAt: new Date(0).toISOString(),
      partition: 2,
      offset: '5',
    };
    expect(await scores.restore(2, [{ key: 'v0', value: restored }])).toBe(1);
    const out = await thread.process({ topic: topics.raw, partition: 2, messages: chunk(10, 1) });
    const score = out.records.find((r) => r.topic === topics.scores)!;
    expect(JSON.parse(score.value.toString())).toMatchObject({
      visitorId: 'v0',
      counts: { pageViews: 41 },
    });
    expect(await scores.drop('v0')).toBe(true);
    expect(await scores.drop('v0')).toBe(false);
  });

  it("rejects a chunk with its step's error, an IntakeError keeping its code and retriable flag", async () => {
    const step = stepModule(
      `throw Object.assign(new Error('store down'), { code: 'STORE_FAILED' });`,
    );
    const thread = await start({ pipeline: { ...pipelineDefaults, steps: [step] } });
    const err = await thread
      .process({ topic: topics.raw, partition: 0, messages: chunk(0, 1) })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(IntakeError);
    expect((err as IntakeError).message).toBe('store down');
    expect(isRetriable(err)).toBe(true);
  });

  it('fails every call in flight and reports the failure when the thread dies', async () => {
    const failures: Error[] = [];
    const step = stepModule(`process.exit(3);`);
    const thread = await start({ pipeline: { ...pipelineDefaults, steps: [step] } }, (e) =>
      failures.push(e),
    );
    await expect(
      thread.process({ topic: topics.raw, partition: 0, messages: chunk(0, 1) }),
    ).rejects.toThrow('the processing thread exited (3)');
    expect(failures.map((e) => e.message)).toEqual(['the processing thread exited (3)']);
    await expect(thread.ids.size(0)).rejects.toThrow('exited (3)');
  });

  it('does not start with a pipeline it cannot build, and says why', async () => {
    await expect(
      start({ pipeline: { ...pipelineDefaults, steps: ['no-such-step'] } }),
    ).rejects.toThrow('unknown pipeline step "no-such-step"');
  });
});
