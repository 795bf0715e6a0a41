/**
 * How many edges are alive in the fleet, learnt from Kafka: the edges share no store, so
 * the per-key rate limit (http/auth.ts) divides its budget by this count.
 *
 * Every edge already keeps one consumer group of its own in Kafka, its reply waiter's
 * (`intake-replies-<uuid>`, replies/reply-waiter.ts): it joins at start, leaves at a
 * clean stop, and the broker drops its member when its heartbeats stop (the consumer's
 * session timeout, 30 s by default). So the live edges are the reply groups that have a
 * member; this edge counts itself even before its own group is joined, so the count is
 * never below 1. Polled every `intervalMs` with the admin API (ListGroups, then
 * DescribeGroups of the reply groups): no new topic, no new stateful service. Where
 * Kafka has ACLs, the edges' principal needs DESCRIBE on the groups `intake-replies-*`
 * (ListGroups shows only the groups it may describe).
 *
 * How current it is: a new edge is counted once its group is joined and the next poll ran
 * (seconds); an edge that stopped cleanly, at the next poll; a killed or partitioned
 * edge, only after the session timeout plus one poll. Until then the others give each key
 * a smaller share (the fleet accepts less than the limit, never more). When a poll
 * fails, the last count stands.
 */
import type { Admin } from '../../lib/kafka/port';
import type { Logger } from '../../lib/logger';

/** The admin calls the count needs. */
export type GroupAdmin = Pick<Admin, 'connect' | 'disconnect' | 'listGroups' | 'describeGroups'>;

export interface LiveEdgesDeps {
  admin: GroupAdmin;
  /** The prefix of every edge's group. */
  groupPrefix: string;
  /** This edge's own group, counted whether or not Kafka shows it yet. */
  ownGroup: string;
  intervalMs: number;
  logger: Logger;
}

export class LiveEdges {
  private live = 1;
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private failing = false;
  private readonly log: Logger;

  constructor(private readonly deps: LiveEdgesDeps) {
    this.log = deps.logger.child({ module: 'live-edges' });
  }

  /** The edges alive at the last successful poll, this one included (at least 1). */
  get count(): number {
    return this.live;
  }

  /** Connects and polls once (a failure leaves the count at 1), then every `intervalMs`. */
  async start(): Promise<void> {
    await this.deps.admin.connect();
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.deps.intervalMs);
    this.timer.unref();
  }

  /** Counts the edges' groups that have a member; resolves once done (never rejects). */
  poll(): Promise<void> {
    this.polling ??= this.refresh().finally(() => (this.polling = null));
    return this.polling;
  }

  private async refresh(): Promise<void> {
    const { admin, groupPrefix, ownGroup } = this.deps;
    try {
      const ids = (await admin.listGroups()).filter((id) => id.startsWith(groupPrefix));
      const described = ids.length > 0 ? await admin.describeGroups(ids) : [];
      const joined = described.filter((g) => g.members.length > 0).map((g) => g.groupId);
      const live = joined.length + (joined.includes(ownGroup) ? 0 : 1);
      if (live !== this.live) this.log.info({ from: this.live, to: live }, 'live_edges_changed');
      this.live = live;
      if (this.failing) this.log.info({ live }, 'live_edges_poll_recovered');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.log.warn({ err, live: this.live }, 'live_edges_poll_failed');
      this.failing = true;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.polling;
    await this.deps.admin.disconnect();
  }
}
