/**
 * Request/response at the edge: waits for the worker's reply to one event.
 *
 * Mechanism (chosen over running the pipeline inside the edge): the edge writes the event
 * to the raw topic like any other, marked `request-response` with its own instance name
 * in `replyTo`; whichever worker processes it writes a reply to the replies topic once the
 * outputs were acknowledged downstream; every edge follows the replies topic from "now"
 * and keeps the replies addressed to it. This keeps one code path for the business logic
 * (the workers', with SBML and its guarantees), works with N edges and M workers behind
 * the balancer (the edge that took the request gets the answer), and costs the edges only
 * the request/response traffic, not the whole processed stream.
 *
 * Bounded: at most `maxWaiting` requests wait at once (beyond: OVERLOADED, 503); each
 * waits at most its timeout (then 504: the event is still safe and its receipt works).
 */
import { randomUUID } from 'node:crypto';
import { IntakeError } from '../../../lib/errors';
import type { Logger } from '../../../lib/logger';
import { parseReply } from '../../../lib/records/reply';
import type { Reply } from '../../../lib/records/reply';
import type { Consumer, KafkaClient } from '../../../lib/kafka/port';

/** The prefix of every edge's reply group: the live edges are these groups with a member. */
export const REPLY_GROUP_PREFIX = 'intake-replies-';

interface Waiter {
  resolve(reply: Reply | null): void;
  timer: NodeJS.Timeout;
}

export class ReplyWaiter {
  /** Waiters by event id (a request may carry the same id twice). */
  private readonly waiting = new Map<string, Waiter[]>();
  private count = 0;
  private consumer: Consumer | null = null;
  /** This edge's own consumer group: one per edge, left at stop. */
  readonly groupId = `${REPLY_GROUP_PREFIX}${randomUUID()}`;
  private running = false;
  private readonly log: Logger;

  constructor(
    private readonly deps: {
      kafka: KafkaClient;
      topic: string;
      instance: string;
      maxWaiting: number;
      logger: Logger;
    },
  ) {
    this.log = deps.logger.child({ module: 'reply-waiter' });
  }

  /**
   * Follows the replies topic. A consumer the client stopped for good after a passing
   * error (no group coordinator yet on a fresh cluster) is run again by the adapter:
   * without it, this edge would wait for replies it can no longer see, and drop out of the
   * live edges its group marks (live-edges.ts).
   */
  async start(): Promise<void> {
    const consumer = this.deps.kafka.consumer({ groupId: this.groupId });
    this.consumer = consumer;
    consumer.onGroupJoin(() => {
      this.running = true;
    });
    await consumer.connect();
    await consumer.subscribe(this.deps.topic, { fromBeginning: false });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          if (message.key?.toString() !== this.deps.instance || !message.value) continue;
          const reply = parseReply(message.value);
          if (reply) this.settle(reply.id, reply);
        }
        await Promise.resolve();
      },
    });
  }

  /**
   * Registers interest in an event's reply before the event is written; the promise
   * resolves with the reply, or null after `timeoutMs`. Throws OVERLOADED at once when
   * `maxWaiting` requests already wait.
   */
  expect(id: string, timeoutMs: number): Promise<Reply | null> {
    if (this.count >= this.deps.maxWaiting) {
      throw new IntakeError('OVERLOADED', 'too many requests waiting for processing', {
        retryAfterSeconds: 1,
      });
    }
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => this.remove(id, waiter, null), timeoutMs),
      };
      this.waiting.set(id, [...(this.waiting.get(id) ?? []), waiter]);
      this.count += 1;
    });
  }

  private settle(id: string, reply: Reply | null): void {
    for (const waiter of [...(this.waiting.get(id) ?? [])]) this.remove(id, waiter, reply);
  }

  private remove(id: string, waiter: Waiter, reply: Reply | null): void {
    const list = this.waiting.get(id);
    if (!list?.includes(waiter)) return;
    clearTimeout(waiter.timer);
    const rest = list.filter((w) => w !== waiter);
    if (rest.length > 0) this.waiting.set(id, rest);
    else this.waiting.delete(id);
    this.count -= 1;
    waiter.resolve(reply);
  }

  /** Stops waiting for an event (e.g. it could not be stored). */
  cancel(id: string): void {
    this.settle(id, null);
  }

  get isRunning(): boolean {
    return this.running;
  }

  async stop(): Promise<void> {
    for (const id of [...this.waiting.keys()]) this.cancel(id);
    await this.consumer?.disconnect();
    const admin = this.deps.kafka.admin();
    await admin.connect();
    await admin
      .deleteGroups([this.groupId])
      .catch((err: unknown) => this.log.debug({ err }, 'group_delete_failed'));
    await admin.disconnect();
  }
}
