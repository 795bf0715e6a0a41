/**
 * The port's group consumer on @platformatic/kafka 1.x.
 *
 * Built on the client's group membership (join, sync, heartbeats, rejoin after a
 * rebalance) and its Fetch call, not on its message stream: the stream pauses and seeks
 * only as a whole and hands records out one by one, where the port wants batches per
 * partition, pause, resume and seek per partition, and a batch of a revoked partition
 * known as stale. So this adapter runs its own fetch loop:
 *
 * - one fetch in flight per leader broker, on a connection pool of its own (a long poll
 *   never delays a heartbeat or a commit), each asking only for the partitions that are
 *   assigned, not paused, and not being processed; its answer becomes one batch per
 *   partition; at most `partitionsConsumedConcurrently` batches are processed at once;
 *   while one of a leader's partitions is being processed, the fetch of its others waits
 *   briefly (`FETCH_WAIT_MS`), so their long poll does not hold the busy one's next fetch;
 * - read_committed: the broker answers up to the last stable offset, and the records of
 *   aborted transactions are dropped here from the answer's aborted-transaction list (the
 *   client's own filter misses those whose abort marker is beyond the answer's end);
 *   transaction markers never reach `eachBatch`, only `onBatchEnd`;
 * - after each join of the group every partition starts over (batches in flight become
 *   stale) at the group's committed offset, or where `subscribe` says when there is none
 *   (earliest with `fromBeginning`, else latest); a `seek` wins over both;
 * - a position out of range (records deleted) starts over the same way;
 * - members on kafkajs and on this client can share a group (the same assigner's name);
 * - a failure of `eachBatch` or of a fetch is reported (`onCrash`) and the partitions are
 *   fetched again a second later from their last resolved offset; with
 *   `restartOnFailure: false` the consumer stops instead. A failed `eachBatch` of a
 *   partition revoked meanwhile (its heartbeat refused) is no failure: the group moved on,
 *   as with kafkajs, which rejoins on such an error.
 * - a failed heartbeat, or group operations (commit, join, committed offsets) failing for
 *   5 s other than for a lost membership, give the group to a new client (`startOver`):
 *   it finds the coordinator again and rejoins; meanwhile nothing is fetched or committed.
 *
 * NOTE: the client heartbeats from its own timer (its option, not the processing loop):
 * a batch that takes longer than the session keeps its partitions; a blocked event loop
 * stops the heartbeats all the same.
 */
import { IntakeError, hasCode } from '../../errors';
import type {
  BatchContext,
  ConsumedRecord,
  Consumer,
  ConsumerOptions,
  FetchedBatch,
  RunOptions,
} from '../port';
import { translate, translated } from './errors';
import type { Connection, Platformatic } from './load';
import { baseOptions, platformatic } from './load';

type Client = InstanceType<typeof Platformatic.Consumer>;
type ClientOptions = ConstructorParameters<typeof Platformatic.Consumer>[0];
type Pool = InstanceType<typeof Platformatic.ConnectionPool>;
type FetchResponse = Awaited<ReturnType<Client['fetch']>>;
type RecordsBatch = NonNullable<
  FetchResponse['responses'][number]['partitions'][number]['records']
>[number];

/**
 * How long the broker may hold a fetch with nothing to answer (ms). One fetch is in flight
 * per leader, so a partition that becomes ready meanwhile (its batch processed) waits for
 * it: while a partition of that leader is being processed the wait is the short one, so a
 * busy partition is fetched again within it, however idle the others are.
 */
export const FETCH_WAIT_MS = { idle: 100, othersProcessing: 10 } as const;
const RESTART_DELAY_MS = 1000;
/** How long group operations may fail before the client is replaced (`startOver`). */
const COORDINATOR_FAILING_MS = 5000;
const ABORT_MARKER = 0;

/** The group membership a transactional offset commit carries (the broker fences a stale one). */
export interface GroupMember {
  groupId: string;
  generationId: number;
  memberId: string;
  coordinatorId: number;
}

/** One assigned partition; a new object at each join, so an older one's batch is stale. */
interface Assigned {
  topic: string;
  partition: number;
  /** The next offset to fetch (null until the join's offsets are read). */
  position: bigint | null;
  /** Bumped by `seek`: a fetch or batch begun before it no longer moves the position. */
  seeks: number;
  /** A fetch of it, or a batch of it, is under way. */
  busy: boolean;
}

const keyOf = (topic: string, partition: number): string => `${topic}:${partition}`;

export class PlatformaticConsumer implements Consumer {
  private client: Client;
  private startingOver = false;
  /** Join loops (`joinUntilIn`) under way: one at a time joins for this member. */
  private joining = 0;
  /** Since when group operations fail (not for a lost membership), or null. */
  private groupFailingSince: number | null = null;
  private readonly fetchPool: Pool;
  private readonly subscriptions = new Map<string, { fromBeginning: boolean }>();
  private assigned = new Map<string, Assigned>();
  private readonly paused = new Set<string>();
  private readonly pendingSeeks = new Map<string, bigint>();
  private readonly fetching = new Set<number>();
  private readonly processing = new Set<Promise<void>>();
  private readonly waiting: (() => Promise<void>)[] = [];
  private readonly joinListeners: ((assignment: Record<string, number[]>) => void)[] = [];
  private readonly crashListeners: ((error: Error, restarting: boolean) => void)[] = [];
  private readonly batchEndListeners: ((end: {
    topic: string;
    partition: number;
    lastOffset: string;
  }) => void)[] = [];
  private runOptions: RunOptions | null = null;
  private running = false;
  private joins = 0;
  /** Each client's own `joinGroup` (its public one refuses: `refuseCommitRejoins`). */
  private readonly joinGroupOf = new WeakMap<Client, (options: object) => Promise<string>>();
  private firstJoin: { resolve: () => void; reject: (err: unknown) => void } | null = null;
  private wakeTimer: NodeJS.Immediate | null = null;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly connection: Connection,
    private readonly options: ConsumerOptions,
    private readonly onClose: () => void = () => undefined,
  ) {
    const base = baseOptions(connection);
    this.client = this.newClient();
    this.fetchPool = new (platformatic().ConnectionPool)(base.clientId, {
      connectTimeout: base.connectTimeout,
      requestTimeout: base.timeout + FETCH_WAIT_MS.idle,
    });
  }

  /** A client for the group, listened to while it is the current one. */
  private newClient(): Client {
    const sessionTimeout = this.options.sessionTimeoutMs ?? 30_000;
    const client = this.createClient({
      ...baseOptions(this.connection),
      groupId: this.options.groupId,
      sessionTimeout,
      rebalanceTimeout: Math.max(this.options.rebalanceTimeoutMs ?? 60_000, sessionTimeout),
      heartbeatInterval: Math.min(3000, Math.floor(sessionTimeout / 3)),
      // kafkajs' assigner's name and version: members on either client share one group
      // (both encode subscriptions and assignments in Kafka's standard consumer protocol,
      // and both assign round robin).
      protocols: [{ name: 'RoundRobinAssigner', version: 0 }],
      // Safety-critical, after the options: committed data only, no commits of its own.
      autocommit: false,
      isolationLevel: platformatic().FetchIsolationLevels.READ_COMMITTED,
    });
    for (const topic of this.subscriptions.keys()) client.topics.track(topic);
    this.joinGroupOf.set(client, client.joinGroup.bind(client));
    refuseCommitRejoins(client);
    client.on('consumer:group:join', (payload) => {
      if (client === this.client) void this.joined(payload.assignments ?? []);
    });
    // A rejoin that failed after the client's retries: reported, and tried again, unless a
    // join loop runs already (each join of one member makes the group rebalance again).
    client.on('error', (err: unknown) => {
      if (client !== this.client) return;
      this.crashed(translate(err, 'rejoining the group failed'), true);
      if (!this.running) return;
      setTimeout(() => {
        if (this.joining === 0 && this.running) this.joinUntilIn().catch(() => undefined);
      }, RESTART_DELAY_MS);
    });
    // 1.35 heartbeats no more after a failed heartbeat that does not ask for a rejoin (the
    // coordinator gone, or moved): the group would expel this member unawares.
    client.on('consumer:heartbeat:error', (payload: { error?: unknown }) => {
      if (client !== this.client || !this.running) return;
      this.startOver(translate(payload.error, 'the heartbeat failed'));
    });
    return client;
  }

  /** The client itself (a test's fake replaces it). */
  protected createClient(options: ClientOptions): Client {
    return new (platformatic().Consumer)(options);
  }

  /**
   * Gives the group to a new client, which finds the coordinator again and rejoins (this
   * member's partitions start over at the join; batches under way become stale). NOTE:
   * 1.35 looks the group's coordinator up once per client and never again, so a client
   * whose coordinator moved (its broker restarted) fails every commit, join and heartbeat
   * for as long as the coordinator stays away.
   */
  private startOver(reason: Error): void {
    if (!this.running) return;
    this.groupFailingSince = null;
    this.crashed(reason, true);
    const old = this.client;
    this.client = this.newClient();
    // The new client rejoins as the same member: a new member id would leave the old one in
    // the group, and every rebalance would wait for it until its session or the rebalance
    // timed out. A member id the group no longer knows is refused, and the client joins as
    // a new member then. The old client closes without leaving as that member.
    this.client.memberId = old.memberId;
    old.memberId = null;
    void old.close().catch(() => undefined);
    if (this.startingOver) return; // the joins under way go on with the new client
    this.startingOver = true;
    void this.joinUntilIn()
      .catch(() => undefined)
      .finally(() => {
        this.startingOver = false;
        this.wake();
      });
  }

  /**
   * A group operation (commit, join, reading committed offsets) failed, or succeeded (null):
   * failures other than a lost membership that last `COORDINATOR_FAILING_MS` start over.
   */
  private groupOperation(failure: unknown): void {
    if (failure === null || hasCode(failure, 'KAFKA_NOT_MEMBER')) {
      this.groupFailingSince = null;
      return;
    }
    const now = Date.now();
    this.groupFailingSince ??= now;
    if (now - this.groupFailingSince >= COORDINATOR_FAILING_MS)
      this.startOver(translate(failure, 'the group coordinator keeps failing'));
  }

  /** The group membership now, for a transaction's offsets (null before a join). */
  member(): GroupMember | null {
    const { memberId, generationId, coordinatorId, groupId } = this.client;
    if (!memberId || coordinatorId === null) return null;
    return { groupId, memberId, generationId, coordinatorId };
  }

  connect(): Promise<void> {
    return translated('connecting the consumer failed', async () => {
      await this.client.metadata({ topics: [] });
    });
  }

  subscribe(topic: string, options: { fromBeginning?: boolean } = {}): Promise<void> {
    return translated(`subscribing to ${topic} failed`, async () => {
      await this.client.metadata({ topics: [topic] });
      this.client.topics.track(topic);
      this.subscriptions.set(topic, { fromBeginning: options.fromBeginning ?? false });
    });
  }

  /** Joins the group and starts fetching; resolves once the first assignment is in place. */
  async run(options: RunOptions): Promise<void> {
    this.runOptions = options;
    this.running = true;
    const joined = new Promise<void>((resolve, reject) => (this.firstJoin = { resolve, reject }));
    await translated('running the consumer failed', async () => {
      await this.joinUntilIn();
      await joined;
    });
  }

  /**
   * Joins the group, again a second later after a failure (reported, restarting) while the
   * consumer runs: a broker just started has no group coordinator for a few seconds. With
   * `restartOnFailure: false` the first failure is final.
   */
  private async joinUntilIn(): Promise<void> {
    this.joining += 1;
    try {
      for (;;) {
        try {
          await this.join();
          this.groupOperation(null);
          return;
        } catch (err) {
          if (this.options.restartOnFailure === false || !this.running) throw err;
          const error = translate(err, 'joining the group failed');
          this.crashed(error, true);
          this.groupOperation(error); // a new client when the coordinator stays away
          await new Promise((r) => setTimeout(r, RESTART_DELAY_MS));
          if (!this.running) throw err;
        }
      }
    } finally {
      this.joining -= 1;
    }
  }

  private join(): Promise<string> {
    return this.joinGroupOf.get(this.client)!({});
  }

  onGroupJoin(listener: (assignment: Record<string, number[]>) => void): void {
    this.joinListeners.push(listener);
  }

  onCrash(listener: (error: Error, restarting: boolean) => void): void {
    this.crashListeners.push(listener);
  }

  onBatchEnd(
    listener: (end: { topic: string; partition: number; lastOffset: string }) => void,
  ): void {
    this.batchEndListeners.push(listener);
  }

  seek(topic: string, partition: number, offset: string): void {
    const at = BigInt(offset);
    const p = this.assigned.get(keyOf(topic, partition));
    if (!p || p.position === null) {
      // Not assigned yet (or its offsets are being read): the first fetch starts there.
      this.pendingSeeks.set(keyOf(topic, partition), at);
      return;
    }
    p.position = at;
    p.seeks += 1;
    this.wake();
  }

  pause(topic: string, partitions: number[]): void {
    for (const partition of partitions) this.paused.add(keyOf(topic, partition));
  }

  resume(topic: string, partitions: number[]): void {
    for (const partition of partitions) this.paused.delete(keyOf(topic, partition));
    this.wake();
  }

  commitOffsets(offsets: { topic: string; partition: number; offset: string }[]): Promise<void> {
    return translated('committing the offsets failed', async () => {
      const lost = offsets.filter((o) => !this.assigned.has(keyOf(o.topic, o.partition)));
      if (lost.length > 0)
        throw new IntakeError(
          'KAFKA_NOT_MEMBER',
          `partitions ${lost.map((o) => keyOf(o.topic, o.partition)).join(', ')} are not assigned to this member`,
        );
      if (this.startingOver)
        throw new IntakeError('KAFKA_UNAVAILABLE', 'the consumer is joining the group again');
      try {
        await this.client.commit({
          offsets: offsets.map((o) => ({
            topic: o.topic,
            partition: o.partition,
            offset: BigInt(o.offset),
            leaderEpoch: -1,
          })),
        });
      } catch (err) {
        const error = translate(err, 'committing the offsets failed');
        this.groupOperation(error);
        throw error;
      }
      this.groupOperation(null);
    });
  }

  /** Stops fetching, waits for the batches under way, leaves the group. */
  disconnect(): Promise<void> {
    this.closing ??= this.close();
    return this.closing;
  }

  private async close(): Promise<void> {
    this.running = false;
    this.firstJoin?.reject(new IntakeError('KAFKA_UNAVAILABLE', 'the consumer was disconnected'));
    this.firstJoin = null;
    this.waiting.length = 0;
    await Promise.allSettled([...this.processing]);
    this.onClose();
    await translated('disconnecting the consumer failed', async () => {
      await this.fetchPool.close();
      await this.client.close();
    });
  }

  // --- group membership -------------------------------------------------------------

  /** A join of the group: every partition starts over at its committed offset. */
  private async joined(assignments: { topic: string; partitions: number[] }[]): Promise<void> {
    const join = ++this.joins;
    const mine = assignments.filter((a) => this.subscriptions.has(a.topic));
    const next = new Map<string, Assigned>();
    for (const { topic, partitions } of mine)
      for (const partition of partitions)
        next.set(keyOf(topic, partition), {
          topic,
          partition,
          position: null,
          seeks: 0,
          busy: false,
        });
    this.assigned = next;
    this.waiting.length = 0;
    for (;;) {
      try {
        const positions = await this.startingOffsets(mine);
        if (join !== this.joins) return;
        for (const [key, position] of positions) {
          const p = next.get(key);
          if (p) p.position = this.pendingSeeks.get(key) ?? position;
          this.pendingSeeks.delete(key);
        }
        break;
      } catch (err) {
        if (join !== this.joins || !this.running) return;
        const error = translate(err, 'reading the committed offsets failed');
        this.crashed(error, true);
        this.groupOperation(error);
        await new Promise((r) => setTimeout(r, RESTART_DELAY_MS));
      }
    }
    const assignment: Record<string, number[]> = {};
    for (const { topic, partitions } of mine) assignment[topic] = [...partitions];
    for (const listener of this.joinListeners) listener(assignment);
    this.firstJoin?.resolve();
    this.firstJoin = null;
    // After the caller's code following `run()` (a pause, a seek) had its turn.
    setImmediate(() => this.wake());
  }

  /** The committed offset of each partition, or the subscription's reset position. */
  private async startingOffsets(
    assignments: { topic: string; partitions: number[] }[],
  ): Promise<Map<string, bigint>> {
    const positions = new Map<string, bigint>();
    if (assignments.length === 0) return positions;
    const committed = await this.client.listCommittedOffsets({ topics: assignments });
    const missing: { topic: string; partitions: number[] }[] = [];
    for (const { topic, partitions } of assignments) {
      const offsets = committed.get(topic) ?? [];
      const none = partitions.filter((p) => (offsets[p] ?? -1n) < 0n);
      for (const p of partitions)
        if ((offsets[p] ?? -1n) >= 0n) positions.set(keyOf(topic, p), offsets[p]!);
      if (none.length > 0) missing.push({ topic, partitions: none });
    }
    for (const { topic, partitions } of missing) {
      const reset = await this.resetOffsets(topic, partitions);
      for (const [p, offset] of reset) positions.set(keyOf(topic, p), offset);
    }
    return positions;
  }

  /** Where a partition without a usable position starts: earliest with `fromBeginning`, else latest. */
  private async resetOffsets(topic: string, partitions: number[]): Promise<Map<number, bigint>> {
    const { ListOffsetTimestamps, FetchIsolationLevels } = platformatic();
    const fromBeginning = this.subscriptions.get(topic)?.fromBeginning ?? false;
    const listed = await this.client.listOffsets({
      topics: [topic],
      partitions: { [topic]: partitions },
      timestamp: fromBeginning ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    });
    const offsets = listed.get(topic) ?? [];
    return new Map(partitions.map((p) => [p, offsets[p] ?? 0n]));
  }

  // --- the fetch loop -----------------------------------------------------------------

  /** Fetches, soon, for every partition that is ready and whose leader has no fetch in flight. */
  private wake(): void {
    if (this.wakeTimer !== null || !this.running) return;
    this.wakeTimer = setImmediate(() => {
      this.wakeTimer = null;
      void this.fetchReady();
    });
  }

  private async fetchReady(): Promise<void> {
    const ready = [...this.assigned.values()].filter(
      (p) => !p.busy && p.position !== null && !this.paused.has(keyOf(p.topic, p.partition)),
    );
    if (ready.length === 0 || !this.running || this.startingOver) return;
    let metadata: Awaited<ReturnType<Client['metadata']>>;
    try {
      metadata = await this.client.metadata({ topics: [...this.subscriptions.keys()] });
    } catch (err) {
      this.fetchFailed(err, []);
      return;
    }
    const leaderOf = (p: Assigned): number =>
      metadata.topics.get(p.topic)?.partitions[p.partition]?.leader ?? -1;
    const byLeader = new Map<number, Assigned[]>();
    let leaderless = false;
    for (const p of ready) {
      const leader = leaderOf(p);
      leaderless ||= leader < 0;
      if (leader < 0 || this.fetching.has(leader) || p.busy) continue;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
    }
    // Busy partitions of a leader without a fetch in flight: batches being processed.
    const processing = new Set<number>();
    for (const p of this.assigned.values()) if (p.busy) processing.add(leaderOf(p));
    if (leaderless) {
      // A leader being elected: asked again shortly.
      this.client.clearMetadata();
      setTimeout(() => this.wake(), 200);
    }
    for (const [leader, partitions] of byLeader) {
      const wait = processing.has(leader) ? FETCH_WAIT_MS.othersProcessing : FETCH_WAIT_MS.idle;
      void this.fetchFrom(leader, partitions, metadata, wait);
    }
  }

  private async fetchFrom(
    leader: number,
    partitions: Assigned[],
    metadata: Awaited<ReturnType<Client['metadata']>>,
    maxWaitTime: number,
  ): Promise<void> {
    const requested = partitions.map((p) => ({ p, from: p.position!, seeks: p.seeks }));
    const topicNames = new Map<string, string>();
    const byTopic = new Map<string, Assigned[]>();
    for (const p of partitions) {
      p.busy = true;
      byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p]);
    }
    this.fetching.add(leader);
    let response: FetchResponse;
    try {
      response = await this.client.fetch({
        node: leader,
        connectionPool: this.fetchPool,
        maxWaitTime,
        minBytes: 1,
        maxBytes: this.options.maxBytes ?? 10 * 1024 * 1024,
        isolationLevel: platformatic().FetchIsolationLevels.READ_COMMITTED,
        topics: [...byTopic].map(([topic, list]) => {
          const topicId = metadata.topics.get(topic)!.id;
          topicNames.set(topicId, topic);
          return {
            topicId,
            partitions: list.map((p) => ({
              partition: p.partition,
              fetchOffset: p.position!,
              partitionMaxBytes: this.options.maxBytesPerPartition ?? 1024 * 1024,
              currentLeaderEpoch: -1,
              lastFetchedEpoch: -1,
            })),
          };
        }),
      });
    } catch (err) {
      this.fetching.delete(leader);
      this.fetchFailed(err, requested);
      return;
    }
    this.fetching.delete(leader);
    const answered = new Map<string, (typeof response.responses)[number]['partitions'][number]>();
    for (const t of response.responses)
      for (const part of t.partitions)
        answered.set(keyOf(topicNames.get(t.topicId) ?? '', part.partitionIndex), part);
    for (const { p, from, seeks } of requested) {
      const part = answered.get(keyOf(p.topic, p.partition));
      const current = this.isCurrent(p) && p.seeks === seeks && this.running;
      const batch = current && part?.records ? toBatch(p, from, part) : null;
      if (!batch) {
        p.busy = false;
        continue;
      }
      if (batch.batch.messages.length === 0) {
        // Markers or aborted records only: the position moves past them.
        p.position = batch.next;
        p.busy = false;
        this.batchEnded(p, batch.batch.lastOffset());
        continue;
      }
      this.enqueue(() => this.process(p, batch.batch, seeks));
    }
    this.wake();
  }

  private fetchFailed(err: unknown, requested: { p: Assigned; seeks: number }[]): void {
    const error = translate(err, 'fetching failed');
    const outOfRange = hasBrokerError(err, 'OFFSET_OUT_OF_RANGE');
    if (hasBrokerError(err, 'NOT_LEADER_OR_FOLLOWER') || hasBrokerError(err, 'FENCED_LEADER_EPOCH'))
      this.client.clearMetadata();
    if (!this.running) return;
    if (outOfRange) {
      void this.restartOutOfRange(requested.map((r) => r.p));
      return;
    }
    const restarting = this.options.restartOnFailure !== false;
    this.crashed(error, restarting);
    if (!restarting) {
      void this.disconnect().catch(() => undefined);
      return;
    }
    setTimeout(() => {
      for (const { p } of requested) p.busy = false;
      this.wake();
    }, RESTART_DELAY_MS);
  }

  /** Positions the broker no longer has (records deleted): they start over where a new member would. */
  private async restartOutOfRange(partitions: Assigned[]): Promise<void> {
    const byTopic = new Map<string, Assigned[]>();
    for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p]);
    try {
      for (const [topic, list] of byTopic) {
        const reset = await this.resetOffsets(
          topic,
          list.map((p) => p.partition),
        );
        for (const p of list) p.position = reset.get(p.partition) ?? p.position;
      }
    } catch (err) {
      this.crashed(translate(err, 'resetting the offsets failed'), true);
      await new Promise((r) => setTimeout(r, RESTART_DELAY_MS));
    }
    for (const p of partitions) p.busy = false;
    this.wake();
  }

  // --- processing -----------------------------------------------------------------------

  private enqueue(task: () => Promise<void>): void {
    this.waiting.push(task);
    this.drain();
  }

  private drain(): void {
    const limit = Math.max(1, this.runOptions?.partitionsConsumedConcurrently ?? 1);
    while (this.processing.size < limit && this.waiting.length > 0) {
      const task = this.waiting.shift()!;
      const run = task().finally(() => {
        this.processing.delete(run);
        this.drain();
        this.wake();
      });
      this.processing.add(run);
    }
  }

  private async process(p: Assigned, batch: FetchedBatch, seeks: number): Promise<void> {
    const options = this.runOptions!;
    let resolved: bigint | null = null;
    const stale = (): boolean => !this.isCurrent(p);
    const context: BatchContext = {
      batch,
      heartbeat: () =>
        stale()
          ? Promise.reject(
              new IntakeError(
                'KAFKA_NOT_MEMBER',
                `partition ${keyOf(p.topic, p.partition)} was revoked`,
              ),
            )
          : Promise.resolve(),
      isRunning: () => this.running,
      isStale: stale,
      resolveOffset: (offset) => {
        if (!stale()) resolved = BigInt(offset) + 1n;
      },
    };
    let failed: unknown = null;
    try {
      if (this.running && !stale()) await options.eachBatch(context);
      if (!options.manualResolve) resolved = BigInt(batch.lastOffset()) + 1n;
    } catch (err) {
      failed = err;
    }
    const moves = !stale() && p.seeks === seeks && resolved !== null;
    if (moves) p.position = resolved;
    if (moves && options.autoCommit && failed === null)
      await this.commitOffsets([
        { topic: p.topic, partition: p.partition, offset: String(resolved) },
      ]).catch((err: unknown) => this.crashed(err as Error, true));
    if (failed === null) {
      this.batchEnded(p, batch.lastOffset());
      p.busy = false;
      return;
    }
    if (stale()) {
      // Revoked while its batch ran (mostly what ended it: its heartbeat is refused then):
      // the partition's next owner reads the batch again; no crash to report.
      p.busy = false;
      return;
    }
    const restarting = this.options.restartOnFailure !== false;
    this.crashed(translate(failed, 'processing a batch failed'), restarting);
    if (!restarting) {
      p.busy = false;
      void this.disconnect().catch(() => undefined);
      return;
    }
    await new Promise((r) => setTimeout(r, RESTART_DELAY_MS));
    p.busy = false;
  }

  private isCurrent(p: Assigned): boolean {
    return this.assigned.get(keyOf(p.topic, p.partition)) === p;
  }

  private batchEnded(p: Assigned, lastOffset: string): void {
    for (const listener of this.batchEndListeners)
      listener({ topic: p.topic, partition: p.partition, lastOffset });
  }

  private crashed(error: Error, restarting: boolean): void {
    for (const listener of this.crashListeners) listener(error, restarting);
  }
}

/**
 * 1.35's commit, refused because the group moved on, rejoins the group through the public
 * `joinGroup` and commits again in the new generation, up to its retries: each such join
 * starts one more rebalance of the whole group (three partitions' chunks committing during
 * a rebalance gave ten generations in 0.1 s), and the commit sent again may land on a
 * partition another member owns by then. Only that path calls the public `joinGroup` (this
 * adapter calls the original, `joinGroupOf`), so it refuses: the commit fails
 * `KAFKA_NOT_MEMBER`, the caller's to handle, and the client's heartbeat rejoins once.
 */
function refuseCommitRejoins(client: Client): void {
  const refuse = (
    _options?: unknown,
    callback?: (error: Error) => void,
  ): Promise<never> | undefined => {
    const error = new IntakeError(
      'KAFKA_NOT_MEMBER',
      'the group moved on: the commit is refused, not sent again in a new generation',
    );
    if (!callback) return Promise.reject(error);
    callback(error);
    return undefined;
  };
  (client as unknown as { joinGroup: typeof refuse }).joinGroup = refuse;
}

/** Whether a client error carries the broker's error `name` (alone, aggregated or wrapped). */
function hasBrokerError(err: unknown, name: string): boolean {
  const found = (err as { findBy?: (k: string, v: unknown) => unknown } | null)?.findBy?.(
    'apiId',
    name,
  );
  return found !== undefined && found !== null;
}

/**
 * One partition's answer as the port's batch: the records at or after `from`, without
 * markers and without the records of aborted transactions; `next` is the offset after
 * the last entry (records or markers) the answer held. Null when it held nothing.
 */
export function toBatch(
  p: { topic: string; partition: number },
  from: bigint,
  part: {
    highWatermark: bigint;
    abortedTransactions: { producerId: bigint; firstOffset: bigint }[];
    records?: RecordsBatch[];
  },
): { batch: FetchedBatch; next: bigint } | null {
  const batches = part.records ?? [];
  if (batches.length === 0) return null;
  const { IS_CONTROL, IS_TRANSACTIONAL } = platformatic();
  const aborted = [...part.abortedTransactions].sort((a, b) =>
    a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
  );
  const abortedProducers = new Set<bigint>();
  const messages: ConsumedRecord[] = [];
  let last = from - 1n;
  for (const b of batches) {
    const batchLast = b.firstOffset + BigInt(b.lastOffsetDelta);
    if (batchLast > last) last = batchLast;
    // Transactions aborted that begin at or before this batch's end.
    while (aborted.length > 0 && aborted[0]!.firstOffset <= batchLast)
      abortedProducers.add(aborted.shift()!.producerId);
    if (b.attributes & IS_CONTROL) {
      const type = b.records[0]?.key?.readInt16BE(2);
      if (type === ABORT_MARKER) abortedProducers.delete(b.producerId);
      continue;
    }
    if (b.attributes & IS_TRANSACTIONAL && abortedProducers.has(b.producerId)) continue;
    for (const r of b.records) {
      const offset = b.firstOffset + BigInt(r.offsetDelta);
      if (offset < from) continue;
      messages.push(toRecord(r, offset, b.firstTimestamp));
    }
  }
  const lastOffset = last.toString();
  return {
    next: last + 1n,
    batch: {
      topic: p.topic,
      partition: p.partition,
      highWatermark: part.highWatermark.toString(),
      messages,
      lastOffset: () => lastOffset,
    },
  };
}

function toRecord(
  r: RecordsBatch['records'][number],
  offset: bigint,
  firstTimestamp: bigint,
): ConsumedRecord {
  const headers: Record<string, Buffer | undefined> = {};
  for (const [k, v] of r.headers) if (k !== null) headers[k.toString()] = v ?? undefined;
  return {
    offset: offset.toString(),
    key: r.key,
    value: r.value,
    headers,
    timestamp: (firstTimestamp + r.timestampDelta).toString(),
  };
}
