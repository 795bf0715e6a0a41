/**
 * Publish/subscribe for consumers over HTTP: `GET /v1/subscribe/:topic` as Server-Sent
 * Events, or the same path as a WebSocket (Upgrade). Filters: `?key=a,b` and `?type=x,y`.
 * Start: now, or after the position in `Last-Event-ID` (the header EventSource resends on
 * reconnect, or `?lastEventId=`), on any edge (nginx does not keep a client on one):
 *
 * - a position the edge's ring reaches is replayed from memory;
 * - an older one is caught up from Kafka (`catch-up.ts`) when Kafka still holds it, that
 *   is when no partition's offset in it is below the partition's earliest offset; 410
 *   (`position-gone`) only when retention passed it. A partition the position does not
 *   name (added since) is read from its earliest offset.
 * - Each edge runs at most `maxCatchUps` catch-ups at once (each a Kafka consumer with a
 *   1 MiB fetch); beyond, 503 with Retry-After 2 (another edge, or this one a little
 *   later, takes it). The slot is taken before the answer and given back when the
 *   catch-up joins the live fan-out, fails, or its client goes.
 * - Topics are named by their short names (`processed`, `scores`, `dlq`); a key may read
 *   a topic only when `INTAKE_API_KEYS` grants it (`source:key:processed+scores`).
 * - Each edge holds at most `maxSubscribers` subscriptions (then 503 with Retry-After);
 *   each may hold `maxBufferedBytes` unsent before it is dropped as a slow consumer. One
 *   fetch of the shared consumer (at most 1 MiB) is delivered at once, so the bound must
 *   stay above that, or healthy subscribers are dropped in bursts.
 * - SSE: `id:` is the resume position, `data:` the record's value (JSON); a comment
 *   every `heartbeatMs` keeps proxies from closing an idle stream; `event: error` with
 *   the reason precedes a disconnect by the edge. WebSocket: one JSON message per record,
 *   `{"id": ..., "key": ..., "value": {...}}`, and `{"error": reason}` before a close.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { KafkaClient } from '../../../lib/kafka/port';
import type { Request, RequestHandler, Response } from 'express';
import { WebSocketServer } from 'ws';
import type { ProblemType } from '../../../lib/http/problem';
import { readFromOffsets } from '../../../lib/kafka/offset-reader';
import type { Logger } from '../../../lib/logger';
import { withRetry } from '../../../lib/retry';
import { mayRead } from '../http/auth';
import { sendProblem } from '../http/send-problem';
import type { Access, UpgradeRoute } from '../upgrades';
import { refuseUpgrade } from '../upgrades';
import { CatchUp } from './catch-up';
import { FETCH_MAX_BYTES, TopicFanout, parsePosition } from './fanout';
import type { Position } from './fanout';
import { Subscription, parseFilter } from './subscription';
import type { EndReason, Filter, SubscriptionTransport } from './subscription';

export interface SubscribeLimits {
  maxSubscribers: number;
  maxBufferedBytes: number;
  heartbeatMs: number;
  ringSize: number;
  /** Catch-ups from Kafka (resumes older than the ring) one edge runs at once. */
  maxCatchUps: number;
}

export const subscribeDefaults: SubscribeLimits = {
  maxSubscribers: 1000,
  maxBufferedBytes: 4 * 1024 * 1024,
  heartbeatMs: 15_000,
  ringSize: 10_000,
  maxCatchUps: 4,
};

/** A catch-up whose client reads nothing for this long is dropped as a slow consumer. */
export const CATCH_UP_STALL_MS = 30_000;

/** The fan-outs of one edge, by short topic name, started on first use. */
export class Fanouts {
  private readonly byName = new Map<string, TopicFanout>();
  private subscribers = 0;
  private catchUpSlots = 0;
  private readonly catchUps = new Set<CatchUp>();
  readonly log: Logger;

  constructor(
    private readonly kafka: KafkaClient,
    topics: Record<string, string>,
    logger: Logger,
    readonly limits: SubscribeLimits,
    readonly onDropped: (reason: 'slow-consumer') => void = () => undefined,
  ) {
    this.log = logger.child({ module: 'subscribe' });
    for (const [name, topic] of Object.entries(topics)) {
      this.byName.set(name, new TopicFanout({ kafka, topic, logger, ringSize: limits.ringSize }));
    }
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  get count(): number {
    return this.subscribers;
  }

  get(name: string): TopicFanout | undefined {
    return this.byName.get(name);
  }

  /** Takes a subscription slot; false when the edge holds as many as it may. */
  take(): boolean {
    if (this.subscribers >= this.limits.maxSubscribers) return false;
    this.subscribers += 1;
    return true;
  }

  release(): void {
    this.subscribers -= 1;
  }

  /** Catch-ups running now (or about to start). */
  get catchingUp(): number {
    return this.catchUpSlots;
  }

  /** Takes a catch-up slot; false when the edge runs as many as it may. */
  takeCatchUp(): boolean {
    if (this.catchUpSlots >= this.limits.maxCatchUps) return false;
    this.catchUpSlots += 1;
    return true;
  }

  releaseCatchUp(): void {
    this.catchUpSlots -= 1;
  }

  /** Each partition's earliest offset (what retention left), with the partitions' list. */
  async earliest(topic: string): Promise<Map<number, bigint>> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const offsets = await withRetry(() => admin.fetchTopicOffsets(topic), { retries: 2 });
      return new Map(offsets.map((p) => [p.partition, BigInt(p.low)]));
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Catches `sub` up from KafkaClient, then joins it to the fan-out (see `catch-up.ts`). The
   * caller holds a catch-up slot; it is given back when the catch-up ends.
   */
  catchUp(fanout: TopicFanout, sub: Subscription): CatchUp {
    const quarter = Math.floor(this.limits.maxBufferedBytes / 4);
    const catchUp = new CatchUp({
      feed: fanout,
      open: (from, handlers) =>
        readFromOffsets(
          { kafka: this.kafka, topic: fanout.topic, from, maxBytes: FETCH_MAX_BYTES },
          handlers,
        ),
      subscription: sub,
      joinBytes: quarter,
      pauseBytes: quarter,
      stallMs: CATCH_UP_STALL_MS,
      pollMs: 25,
      logger: this.log.child({ topic: fanout.topic }),
      onSlow: () => this.onDropped('slow-consumer'),
      done: () => {
        this.catchUps.delete(catchUp);
        this.releaseCatchUp();
      },
    });
    this.catchUps.add(catchUp);
    void catchUp.start();
    return catchUp;
  }

  async stop(): Promise<void> {
    const catchUps = [...this.catchUps].map((c) => c.cancel('shutting-down'));
    await Promise.all([...catchUps, ...[...this.byName.values()].map((f) => f.stop())]);
  }
}

type Prepared =
  | {
      ok: true;
      fanout: TopicFanout;
      filter: Filter;
      from: Position | undefined;
      /** The position is older than the ring: a catch-up slot is held for it. */
      catchUp: boolean;
    }
  | { ok: false; problem: ProblemType; detail: string; retryAfter?: number };

/** The checks both transports share, before anything is sent. */
async function prepare(
  fanouts: Fanouts,
  name: string,
  topics: ReadonlySet<string>,
  lastEventId: string | undefined,
  query: { key?: unknown; type?: unknown },
): Promise<Prepared> {
  const fanout = fanouts.get(name);
  if (!fanout) {
    return {
      ok: false,
      problem: 'not-found',
      detail: `No topic "${name.slice(0, 64)}" to subscribe to; use one of: ${fanouts.names.join(', ')}.`,
    };
  }
  if (!mayRead(topics, name)) {
    return {
      ok: false,
      problem: 'forbidden',
      detail: `This API key may not read "${name}"; ask for a key that grants it.`,
    };
  }
  let from: Position | undefined;
  if (lastEventId !== undefined && lastEventId !== '') {
    const parsed = parsePosition(lastEventId);
    if (!parsed) {
      return {
        ok: false,
        problem: 'bad-request',
        detail: 'Last-Event-ID is not a position (partition:offset,...); resubscribe without it.',
      };
    }
    from = parsed;
  }
  try {
    await fanout.ready();
  } catch (err) {
    fanouts.log.warn({ err, topic: name }, 'fanout_start_failed');
    return {
      ok: false,
      problem: 'kafka-unavailable',
      detail: 'The topic cannot be read now; retry.',
      retryAfter: 2,
    };
  }
  let catchUp = false;
  if (from && !fanout.covers(from)) {
    const start = await catchUpStart(fanouts, fanout, from);
    if (!start.ok) return start;
    from = start.from;
    catchUp = true;
  }
  if (!fanouts.take()) {
    if (catchUp) fanouts.releaseCatchUp();
    return {
      ok: false,
      problem: 'overloaded',
      detail: 'This edge serves as many subscribers as it may; retry (another edge may take it).',
      retryAfter: 5,
    };
  }
  return { ok: true, fanout, filter: parseFilter(query.key, query.type), from, catchUp };
}

/**
 * For a position older than the ring: takes a catch-up slot and checks that Kafka still
 * holds every record after the position. The start names every partition of the topic:
 * one the position lacks starts at its earliest offset; one the topic lacks is dropped.
 */
async function catchUpStart(
  fanouts: Fanouts,
  fanout: TopicFanout,
  from: Position,
): Promise<{ ok: true; from: Position } | Extract<Prepared, { ok: false }>> {
  if (!fanouts.takeCatchUp()) {
    return {
      ok: false,
      problem: 'overloaded',
      detail:
        'This edge is resuming as many subscriptions from Kafka as it may; retry (another edge may take it).',
      retryAfter: 2,
    };
  }
  let earliest: Map<number, bigint>;
  try {
    earliest = await fanouts.earliest(fanout.topic);
  } catch (err) {
    fanouts.releaseCatchUp();
    fanouts.log.warn({ err, topic: fanout.topic }, 'catch_up_offsets_failed');
    return {
      ok: false,
      problem: 'kafka-unavailable',
      detail: 'The topic cannot be read now; retry.',
      retryAfter: 2,
    };
  }
  const start: Position = new Map();
  for (const [partition, low] of earliest) {
    const at = from.get(partition) ?? low;
    start.set(partition, at);
    if (at < low) {
      fanouts.releaseCatchUp();
      return {
        ok: false,
        problem: 'position-gone',
        detail:
          'Kafka no longer holds the events after this position (retention passed it); resubscribe from now.',
      };
    }
  }
  return { ok: true, from: start };
}

export function sseSubscribeRoute(fanouts: Fanouts): RequestHandler {
  return async (req: Request, res: Response) => {
    const lastEventId = req.get('last-event-id') ?? stringOf(req.query.lastEventId);
    const topics = (res.locals.topics as ReadonlySet<string> | undefined) ?? new Set(['*']);
    const p = await prepare(fanouts, String(req.params.topic), topics, lastEventId, req.query);
    if (!p.ok) {
      sendProblem(res, p.problem, p.detail, {}, p.retryAfter);
      return;
    }
    // NOTE: a client gone while the fan-out started would never emit 'close' to serve().
    if (req.socket.destroyed) {
      unprepare(fanouts, p);
      return;
    }
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.write('retry: 2000\n: subscribed\n\n');
    const transport: SubscriptionTransport = {
      send: (id, record) => {
        const data = record.value.includes('\n')
          ? record.value.split('\n').join('\ndata: ')
          : record.value;
        res.write(`id: ${id}\ndata: ${data}\n\n`);
      },
      buffered: () => res.writableLength,
      end: (reason) => {
        res.end(`event: error\ndata: {"reason":"${reason}"}\n\n`);
        setTimeout(() => res.destroy(), 1000).unref();
      },
    };
    serve(
      fanouts,
      p,
      transport,
      (stop) => res.on('close', stop),
      (beat) => {
        const timer = setInterval(() => res.write(': heartbeat\n\n'), fanouts.limits.heartbeatMs);
        beat(() => clearInterval(timer));
      },
    );
  };
}

/** Gives back the slots prepare() took, for a client gone before it was served. */
function unprepare(fanouts: Fanouts, p: Extract<Prepared, { ok: true }>): void {
  fanouts.release();
  if (p.catchUp) fanouts.releaseCatchUp();
}

/** Subscribes, and undoes it all when the client goes. */
function serve(
  fanouts: Fanouts,
  p: Extract<Prepared, { ok: true }>,
  transport: SubscriptionTransport,
  onClose: (stop: () => void) => void,
  heartbeat: (registerStop: (stop: () => void) => void) => void,
): void {
  const position = p.from ? new Map(p.from) : p.fanout.position();
  const sub = new Subscription(transport, p.filter, position, fanouts.limits.maxBufferedBytes, () =>
    fanouts.onDropped('slow-consumer'),
  );
  let stopBeat: () => void = () => undefined;
  heartbeat((stop) => (stopBeat = stop));
  let catchUp: CatchUp | null = null;
  if (p.catchUp) catchUp = fanouts.catchUp(p.fanout, sub);
  else if (!p.fanout.subscribe(sub, p.from)) {
    // The ring moved past the position since prepare() looked: catch up instead.
    if (fanouts.takeCatchUp()) catchUp = fanouts.catchUp(p.fanout, sub);
    else sub.end('resume-failed');
  }
  onClose(() => {
    stopBeat();
    void catchUp?.cancel();
    p.fanout.unsubscribe(sub);
    fanouts.release();
  });
}

export class WsSubscribeRoute implements UpgradeRoute {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

  constructor(private readonly fanouts: Fanouts) {}

  handle(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, access: Access): void {
    const name = decodeURIComponent(url.pathname.slice('/v1/subscribe/'.length));
    const lastEventId =
      (typeof req.headers['last-event-id'] === 'string'
        ? req.headers['last-event-id']
        : undefined) ??
      url.searchParams.get('lastEventId') ??
      undefined;
    void prepare(this.fanouts, name, access.topics, lastEventId, {
      key: url.searchParams.get('key') ?? undefined,
      type: url.searchParams.get('type') ?? undefined,
    }).then((p) => {
      if (!p.ok) {
        refuseUpgrade(socket, p.problem, p.detail, p.retryAfter);
        return;
      }
      // The slot is held from prepare(): give it back if the upgrade never completes
      // (ws does not call back for a socket that closed meanwhile).
      let served = false;
      if (socket.destroyed) {
        unprepare(this.fanouts, p);
        return;
      }
      socket.once('close', () => {
        if (!served) unprepare(this.fanouts, p);
      });
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        served = true;
        const transport: SubscriptionTransport = {
          send: (id, record) =>
            ws.send(JSON.stringify({ id, key: record.key, value: jsonOrText(record.value) })),
          buffered: () => ws.bufferedAmount,
          end: (reason) => ws.close(closeCodes[reason], reason),
        };
        serve(
          this.fanouts,
          p,
          transport,
          (stop) => ws.on('close', stop),
          (beat) => {
            const timer = setInterval(() => ws.ping(), this.fanouts.limits.heartbeatMs);
            beat(() => clearInterval(timer));
          },
        );
      });
    });
  }
}

/** 1008 policy (too slow), 1001 going away, 1013 try again (reconnect with the last id). */
const closeCodes: Record<EndReason, number> = {
  'slow-consumer': 1008,
  'shutting-down': 1001,
  'resume-failed': 1013,
};

function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function stringOf(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
