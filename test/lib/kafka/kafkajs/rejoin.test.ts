/**
 * kafkajs' consumer rejoining after a crash as the same member (lib/kafka/kafkajs/rejoin.ts):
 * the wrapper on a fake consumer group class, and the methods it wraps present on kafkajs'
 * own. The HML broker SIGKILL fault scenario runs it through a real coordinator's restart.
 */
import { createRequire } from 'node:module';
import { rememberMembers } from '../../../../lib/kafka/kafkajs/rejoin';

/** A consumer group whose join gives a new member id when it asked with none. */
class FakeGroup {
  static issued = 0;
  memberId: string | null = null;
  readonly askedWith: (string | null)[] = [];
  leaveFails = false;
  constructor(readonly cluster: object) {}
  joinAndSync(): Promise<void> {
    this.askedWith.push(this.memberId);
    this.memberId ??= `member-${++FakeGroup.issued}`;
    return Promise.resolve();
  }
  leave(): Promise<void> {
    if (this.leaveFails) return Promise.reject(new Error('Connection error: ECONNREFUSED'));
    this.memberId = null;
    return Promise.resolve();
  }
}
rememberMembers(FakeGroup.prototype);

describe('kafkajs consumer rejoining as the same member', () => {
  it("after a crash whose leave failed, the consumer's new membership joins with the old member id", async () => {
    const cluster = {};
    const first = new FakeGroup(cluster);
    await first.joinAndSync();
    first.leaveFails = true;
    await expect(first.leave()).rejects.toThrow('ECONNREFUSED');
    const restarted = new FakeGroup(cluster);
    await restarted.joinAndSync();
    expect(restarted.askedWith).toEqual([first.memberId]);
  });

  it('after a leave that succeeded, or for another consumer, it joins as a new member', async () => {
    const cluster = {};
    const first = new FakeGroup(cluster);
    await first.joinAndSync();
    const other = new FakeGroup({});
    await other.joinAndSync();
    expect(other.askedWith).toEqual([null]);
    await first.leave();
    const again = new FakeGroup(cluster);
    await again.joinAndSync();
    expect(again.askedWith).toEqual([null]);
  });

  it("wraps methods kafkajs' consumer group has", () => {
    const group = createRequire(require.resolve('kafkajs'))('./src/consumer/consumerGroup') as {
      prototype: Record<string, unknown>;
    };
    expect(typeof group.prototype.joinAndSync).toBe('function');
    expect(typeof group.prototype.leave).toBe('function');
  });
});
