/**
 * kafkajs' consumer rejoining after a crash, mended (kafkajs 2.2.4): as the same member.
 *
 * After a crash (its coordinator's broker gone, say) kafkajs' consumer disconnects, trying
 * to leave the group, and starts again with a new group membership that joins with no
 * member id. When the leave failed (the broker was down), the group still holds the old
 * member: the rebalance the new one starts waits for it until its session times out, and
 * the consumer's partitions sit unprocessed meanwhile (a broker SIGKILL: 30 s).
 *
 * Mended here, for every consumer of the process, once: a consumer's new membership joins
 * with the member id of its last one that did not leave (kept per consumer, by the
 * consumer's cluster object, which a restart keeps). A member id the group no longer knows
 * is refused (UNKNOWN_MEMBER_ID): kafkajs then joins with none, as before.
 */
import { mendOnce } from './internal';

interface ConsumerGroup {
  cluster: object;
  memberId: string | null;
  joinAndSync: (this: ConsumerGroup) => Promise<void>;
  leave: (this: ConsumerGroup) => Promise<void>;
}

export function mendKafkajsRejoin(): void {
  mendOnce<{ prototype: ConsumerGroup }>('consumer/consumerGroup', (group) =>
    rememberMembers(group.prototype),
  );
}

/** Wraps a consumer group's join and leave so a new membership joins as the last member. */
export function rememberMembers(proto: ConsumerGroup): void {
  const lastMember = new WeakMap<object, string>();
  const { joinAndSync, leave } = proto;
  proto.joinAndSync = async function (this: ConsumerGroup) {
    this.memberId ??= lastMember.get(this.cluster) ?? null;
    await joinAndSync.call(this);
    if (this.memberId) lastMember.set(this.cluster, this.memberId);
  };
  proto.leave = async function (this: ConsumerGroup) {
    await leave.call(this);
    lastMember.delete(this.cluster);
  };
}
