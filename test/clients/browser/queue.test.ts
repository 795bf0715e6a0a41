/**
 * The tracker's queue with fakes (a manual clock, a scripted transport, a localStorage-like
 * map): ids given at track time and kept across retries and pages, per-item answers,
 * backoff and Retry-After, the bound (oldest dropped and counted), the beacon on hide
 * (events stay queued), and a reload that resumes from the store.
 */
import { EventQueue, queueDefaults } from '../../../clients/browser/queue';
import type {
  Clock,
  QueueOptions,
  SendOutcome,
  TrackedEvent,
  Transport,
} from '../../../clients/browser/queue';
import { KeyValueStore } from '../../../clients/browser/stores';
import type { KeyValue } from '../../../clients/browser/stores';
import { uuidv7 } from '../../../clients/browser/ids';

class ManualClock implements Clock {
  private t = 1_000_000;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;
  now = (): number => this.t;
  random = (): number => 1;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.nextId++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  };
  clearTimeout = (handle: unknown): void => {
    this.timers = this.timers.filter((x) => x.id !== handle);
  };
  /** Moves time on, running each timer that falls due, and lets its promises settle. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = due.at;
      due.fn();
      await settle();
    }
    this.t = end;
    await settle();
  }
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

class ScriptedTransport implements Transport {
  readonly sent: { at: number; ids: string[] }[] = [];
  readonly beacons: string[][] = [];
  answers: ((batch: TrackedEvent[]) => SendOutcome)[] = [];
  beaconAccepts = true;
  constructor(private readonly clock: Clock) {}
  send(events: TrackedEvent[]): Promise<SendOutcome> {
    this.sent.push({ at: this.clock.now(), ids: events.map((e) => e.id) });
    const answer = this.answers.shift() ?? acceptAll;
    return Promise.resolve(answer(events));
  }
  beacon(events: TrackedEvent[]): boolean {
    if (!this.beaconAccepts) return false;
    this.beacons.push(events.map((e) => e.id));
    return true;
  }
}

const acceptAll = (batch: TrackedEvent[]): SendOutcome => ({
  answered: true,
  status: 202,
  body: { accepted: batch.map((e, index) => ({ index, id: e.id })), rejected: [] },
});
const offline = (): SendOutcome => ({ answered: false });
const status = (code: number, retryAfterSeconds?: number) => (): SendOutcome => ({
  answered: true,
  status: code,
  retryAfterSeconds,
});

class MapStorage implements KeyValue {
  readonly map = new Map<string, string>();
  getItem = (key: string): string | null => this.map.get(key) ?? null;
  setItem = (key: string, value: string): void => void this.map.set(key, value);
}

let n = 0;
const event = (type = 'page_view'): TrackedEvent => ({
  id: `e${++n}`,
  type,
  key: 'visitor-1',
  ts: new Date(0).toISOString(),
});

function setup(options: Partial<QueueOptions> = {}, storage = new MapStorage()) {
  const clock = new ManualClock();
  const transport = new ScriptedTransport(clock);
  const store = new KeyValueStore(storage);
  const queue = new EventQueue(store, transport, clock, { ...queueDefaults, ...options });
  const stored = async () => (await store.load()).map((e) => e.id);
  return { clock, transport, queue, storage, stored };
}

describe('tracker queue', () => {
  it('batches tracked events after the flush delay and forgets them once accepted', async () => {
    const { clock, transport, queue, stored } = setup();
    await queue.ready;
    const events = [event(), event(), event()];
    events.forEach((e) => queue.add(e));
    expect(await stored()).toEqual(events.map((e) => e.id));
    await clock.advance(999);
    expect(transport.sent).toHaveLength(0);
    await clock.advance(1);
    expect(transport.sent.map((s) => s.ids)).toEqual([events.map((e) => e.id)]);
    expect(queue.stats()).toEqual({ queued: 0, sent: 3, rejected: 0, dropped: 0 });
    expect(await stored()).toEqual([]);
  });

  it('keeps each id across retries after network failures, backing off exponentially', async () => {
    const { clock, transport, queue, stored } = setup({ maxBackoffMs: 4000 });
    await queue.ready;
    transport.answers = [offline, offline, offline, offline];
    const e = event();
    queue.add(e);
    await clock.advance(1000 + 1000 + 2000 + 4000 + 4000);
    const starts = transport.sent.map((s) => s.at - transport.sent[0]!.at);
    expect(starts).toEqual([0, 1000, 3000, 7000, 11000]); // capped at maxBackoffMs
    expect(new Set(transport.sent.flatMap((s) => s.ids))).toEqual(new Set([e.id]));
    expect(queue.stats().sent).toBe(1);
    expect(await stored()).toEqual([]);
  });

  it('waits exactly what Retry-After says on 429 and 503, even when asked to flush', async () => {
    const { clock, transport, queue } = setup();
    await queue.ready;
    transport.answers = [status(503, 7), status(429, 2)];
    queue.add(event());
    await clock.advance(1000);
    expect(transport.sent).toHaveLength(1);
    await queue.flush();
    queue.add(event()); // a new event does not cut the wait short
    await clock.advance(6999);
    expect(transport.sent).toHaveLength(1);
    await clock.advance(1);
    expect(transport.sent).toHaveLength(2);
    await clock.advance(1999);
    expect(transport.sent).toHaveLength(2);
    await clock.advance(1);
    expect(transport.sent).toHaveLength(3);
    expect(queue.stats()).toMatchObject({ queued: 0, sent: 2 });
  });

  it('removes the accepted and the rejected items of a 202, resending neither', async () => {
    const { clock, transport, queue, stored } = setup();
    await queue.ready;
    transport.answers = [
      () => ({
        answered: true,
        status: 202,
        body: {
          accepted: [
            { index: 0, id: 'x' },
            { index: 2, id: 'y' },
          ],
          rejected: [{ index: 1, reason: 'bad' }],
        },
      }),
    ];
    [event(), event('bad'), event()].forEach((e) => queue.add(e));
    await clock.advance(60_000);
    expect(transport.sent).toHaveLength(1);
    expect(queue.stats()).toEqual({ queued: 0, sent: 2, rejected: 1, dropped: 0 });
    expect(await stored()).toEqual([]);
  });

  it('drops a batch the edge refuses for good (422) but keeps one refused for its key (401)', async () => {
    const { clock, transport, queue } = setup();
    await queue.ready;
    transport.answers = [status(422)];
    queue.add(event());
    await clock.advance(1000);
    expect(queue.stats()).toMatchObject({ queued: 0, rejected: 1 });
    transport.answers = [status(401), status(403)];
    const kept = event();
    queue.add(kept);
    await clock.advance(1000 + 1000 + 2000);
    expect(transport.sent.slice(1).map((s) => s.ids)).toEqual([[kept.id], [kept.id], [kept.id]]);
    expect(queue.stats()).toMatchObject({ queued: 0, sent: 1, rejected: 1 });
  });

  it('halves the batch on 413 and sends the rest in smaller batches', async () => {
    const { clock, transport, queue } = setup({ batchSize: 4 });
    await queue.ready;
    transport.answers = [status(413)];
    for (let i = 0; i < 4; i++) queue.add(event());
    await clock.advance(1000);
    expect(transport.sent.map((s) => s.ids.length)).toEqual([4, 2, 2]);
    expect(queue.stats()).toMatchObject({ queued: 0, sent: 4 });
  });

  it('is bounded: beyond maxQueue the oldest events are dropped and counted', async () => {
    const { queue, transport, stored } = setup({ maxQueue: 3 });
    await queue.ready;
    transport.answers = [offline];
    const events = [event(), event(), event(), event(), event()];
    events.forEach((e) => queue.add(e));
    expect(queue.stats()).toMatchObject({ queued: 3, dropped: 2 });
    expect(await stored()).toEqual(events.slice(2).map((e) => e.id));
  });

  it('resumes after a reload: a new page sends what the last one left, with the same ids', async () => {
    const first = setup();
    await first.queue.ready;
    first.transport.answers = [offline, offline];
    const events = [event(), event()];
    events.forEach((e) => first.queue.add(e));
    await first.clock.advance(2000);
    expect(first.queue.stats()).toMatchObject({ queued: 2, sent: 0 });

    const second = setup({}, first.storage); // the same storage: a reload
    await second.queue.ready;
    second.queue.add(event());
    await second.clock.advance(0);
    expect(second.transport.sent[0]!.ids.slice(0, 2)).toEqual(events.map((e) => e.id));
    await second.clock.advance(1000);
    expect(second.queue.stats()).toMatchObject({ queued: 0, sent: 3 });
    expect(await second.stored()).toEqual([]);
  });

  it('keeps the flush delay of events tracked before the store finished loading (nothing left to resend)', async () => {
    const clock = new ManualClock();
    const transport = new ScriptedTransport(clock);
    let loaded = (): void => undefined;
    const store = new KeyValueStore(new MapStorage());
    const load = store.load.bind(store);
    store.load = () => new Promise((resolve) => (loaded = () => void load().then(resolve)));
    const queue = new EventQueue(store, transport, clock);
    queue.add(event());
    loaded();
    await queue.ready;
    await clock.advance(999);
    expect(transport.sent).toHaveLength(0);
    await clock.advance(1);
    expect(transport.sent).toHaveLength(1);
  });

  it('hands queued events to the beacon on hide, once per page, and keeps them queued', async () => {
    const { queue, transport, storage, stored } = setup({ batchSize: 2 });
    await queue.ready;
    const events = [event(), event(), event()];
    events.forEach((e) => queue.add(e));
    expect(queue.hide()).toBe(3);
    expect(transport.beacons).toEqual([[events[0]!.id, events[1]!.id], [events[2]!.id]]);
    expect(queue.hide()).toBe(0); // pagehide after visibilitychange: nothing new
    expect(queue.stats().queued).toBe(3);
    expect(await stored()).toEqual(events.map((e) => e.id));

    const next = setup({}, storage); // the next page resends them (same ids)
    await next.queue.ready;
    await next.clock.advance(0);
    expect(next.transport.sent[0]!.ids).toEqual(events.map((e) => e.id));
  });

  it('resolves flush() only once every event tracked before is written to the store', async () => {
    const clock = new ManualClock();
    const transport = new ScriptedTransport(clock);
    transport.answers = [offline];
    let release = (): void => undefined;
    const slow = new KeyValueStore(new MapStorage());
    const put = slow.put.bind(slow);
    slow.put = (events) =>
      new Promise<void>((resolve) => {
        release = () => void put(events).then(resolve);
      });
    const queue = new EventQueue(slow, transport, clock);
    await queue.ready;
    queue.add(event());
    let flushed = false;
    const flushing = queue.flush().then(() => {
      flushed = true;
    });
    await settle();
    expect(flushed).toBe(false);
    release();
    await flushing;
    expect((await slow.load()).length).toBe(1);
  });

  it('stops handing batches when the browser refuses the beacon', async () => {
    const { queue, transport } = setup();
    await queue.ready;
    queue.add(event());
    transport.beaconAccepts = false;
    expect(queue.hide()).toBe(0);
    transport.beaconAccepts = true;
    expect(queue.hide()).toBe(1);
  });

  it('forgets the backoff when the browser is back online', async () => {
    const { clock, transport, queue } = setup({ maxBackoffMs: 60_000 });
    await queue.ready;
    transport.answers = [offline, offline, offline, offline, offline];
    queue.add(event());
    await clock.advance(1000 + 1000 + 2000 + 4000 + 8000);
    expect(transport.sent).toHaveLength(5);
    const stats = await queue.online();
    expect(transport.sent).toHaveLength(6);
    expect(stats).toMatchObject({ queued: 0, sent: 1 });
  });
});

describe('uuidv7', () => {
  it('makes version-7 ids that sort by time', () => {
    const fill = (b: Uint8Array) => b.fill(0xff);
    const a = uuidv7(1_700_000_000_000, fill);
    const b = uuidv7(1_700_000_000_001, fill);
    expect(a).toMatch(/^018bcfe5-6800-7fff-bfff-ffffffffffff$/);
    expect(a < b).toBe(true);
  });
});
