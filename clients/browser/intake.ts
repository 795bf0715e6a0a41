/**
 * The browser tracker, served by the edge at `GET /v1/intake.js` (bundled by esbuild,
 * `npm run build:tracker`). A page adds two lines:
 *
 *   <script src="https://intake.example.com/v1/intake.js"></script>
 *   <script>intake.init({ key: 'PUBLIC_KEY' })</script>
 *
 * API (global `intake`):
 * - `init({ url?, key, maxQueue?, batchSize?, flushDelayMs? })`: once per page; `url`
 *   defaults to the origin the script came from.
 * - `track(type, data?, { key?, id? })`: queues one event and returns its id (given now,
 *   kept across retries); `key` defaults to the visitor id.
 * - `flush()`: sends what is queued now; resolves to `stats()`.
 * - `visitorId()`: this browser's visitor id (made once, kept in localStorage).
 * - `score()`: the visitor's propensity score record from the edge, or null before the
 *   workers scored one of its events.
 * - `stats()`: `{ queued, sent, rejected, dropped }`.
 *
 * Delivery rules (retries, Retry-After, the bounded durable queue, the beacon on page hide)
 * are in `queue.ts`. Storage: IndexedDB, else localStorage, else memory only.
 */
import { uuidv7 } from './ids';
import { openIndexedDbStore } from './idb-store';
import { EventQueue, queueDefaults } from './queue';
import type { EventStore, QueueOptions, QueueStats, TrackedEvent } from './queue';
import { KeyValueStore, MemoryStore } from './stores';
import { httpTransport } from './transport';

interface InitOptions extends Partial<QueueOptions> {
  url?: string;
  key: string;
}

interface TrackOptions {
  key?: string;
  id?: string;
}

const script = document.currentScript as HTMLScriptElement | null;
const random = (bytes: Uint8Array<ArrayBuffer>): void => void crypto.getRandomValues(bytes);
const newId = (): string => uuidv7(Date.now(), random);

let queue: EventQueue | null = null;
let base = '';
let apiKey = '';
let visitor = '';

function localStore(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled
  }
}

async function openStore(): Promise<EventStore> {
  try {
    return await openIndexedDbStore();
  } catch {
    const local = localStore();
    return local ? new KeyValueStore(local) : new MemoryStore();
  }
}

/** The store, usable at once while IndexedDB opens. */
function deferred(opening: Promise<EventStore>): EventStore {
  return {
    load: () => opening.then((s) => s.load()),
    put: (events) => opening.then((s) => s.put(events)),
    remove: (ids) => opening.then((s) => s.remove(ids)),
  };
}

function visitorIdOf(storage: Storage | null): string {
  const stored = storage?.getItem('intake.vid');
  if (stored) return stored;
  const id = newId();
  try {
    storage?.setItem('intake.vid', id);
  } catch {
    // quota or storage disabled: a visitor id for this page only
  }
  return id;
}

function started(): EventQueue {
  if (!queue) throw new Error('intake: call intake.init({ key }) first');
  return queue;
}

function init(options: InitOptions): void {
  if (queue) return;
  if (!options || typeof options.key !== 'string' || options.key === '')
    throw new Error('intake.init: `key` (your public API key) is required');
  base = (options.url ?? (script?.src ? new URL(script.src).origin : location.origin)).replace(
    /\/+$/,
    '',
  );
  apiKey = options.key;
  visitor = visitorIdOf(localStore());
  const { url: _url, key: _key, ...tuning } = options;
  const running = new EventQueue(
    deferred(openStore()),
    httpTransport(base, apiKey),
    {
      now: () => Date.now(),
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (handle) => clearTimeout(handle as number),
      random: Math.random,
    },
    { ...queueDefaults, ...tuning },
  );
  queue = running;
  addEventListener('pagehide', () => running.hide());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') running.hide();
  });
  addEventListener('online', () => void running.online());
}

function track(type: string, data?: unknown, options: TrackOptions = {}): string {
  const q = started();
  if (typeof type !== 'string' || type === '')
    throw new TypeError('intake.track: `type` must be a non-empty string');
  const event: TrackedEvent = {
    id: options.id ?? newId(),
    type,
    key: options.key ?? visitor,
    ts: new Date().toISOString(),
  };
  if (data !== undefined) event.data = data;
  q.add(event);
  return event.id;
}

async function score(): Promise<unknown> {
  started();
  const res = await fetch(
    `${base}/v1/visitors/${encodeURIComponent(visitor)}/score?api_key=${encodeURIComponent(apiKey)}`,
    { credentials: 'omit' },
  );
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`intake.score: the edge answered ${res.status}`);
  return res.json();
}

const api = {
  init,
  track,
  flush: (): Promise<QueueStats> => started().flush(),
  visitorId: (): string => {
    started();
    return visitor;
  },
  score,
  stats: (): QueueStats => started().stats(),
};

(window as unknown as { intake: typeof api }).intake = api;
