/**
 * The @platformatic/kafka consumer gives the group to a new client when the one it has
 * cannot reach the group's coordinator any more (1.35 looks it up once per client): after
 * a failed heartbeat (1.35 heartbeats no more after one), and after group operations that
 * keep failing for 5 s other than for a lost membership. The new client joins again, as
 * the same member; the old one is closed. A commit that finds the group moved on fails instead of the client
 * rejoining by itself. The client here is a fake; the three-broker fault scenarios run the
 * real one through a coordinator's restart.
 */
import { IntakeError } from '../../../../lib/errors';
import { PlatformaticConsumer } from '../../../../lib/kafka/platformatic/consumer';
import { FakeClient } from '../../../support/platformatic-fakes';

let clients: FakeClient[] = [];

class Consumer extends PlatformaticConsumer {
  protected override createClient(): never {
    const client = new FakeClient();
    clients.push(client);
    return client as never;
  }
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

async function running(): Promise<{ consumer: Consumer; crashes: Error[] }> {
  const consumer = new Consumer(
    { clientId: 'start-over-test', brokers: ['127.0.0.1:1'] },
    { groupId: 'g' },
  );
  const crashes: Error[] = [];
  consumer.onCrash((err) => crashes.push(err));
  await consumer.subscribe('t');
  await consumer.run({ manualResolve: true, eachBatch: () => Promise.resolve() });
  return { consumer, crashes };
}

const commit = (consumer: Consumer): Promise<void> =>
  consumer.commitOffsets([{ topic: 't', partition: 0, offset: '6' }]);

describe('the @platformatic/kafka consumer starting over with a new client', () => {
  let now = 1_000_000;
  beforeEach(() => {
    clients = [];
    FakeClient.failJoins = false;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterEach(() => jest.restoreAllMocks());

  it('after a failed heartbeat: a new client joins, the old one is closed', async () => {
    const { consumer, crashes } = await running();
    expect(clients).toHaveLength(1);
    clients[0]!.emit('consumer:heartbeat:error', { error: new Error('connect ECONNREFUSED') });
    await settle();
    expect(clients).toHaveLength(2);
    expect(clients[0]!.closed).toBe(true);
    expect(clients[1]!.joins).toBe(1);
    expect(crashes.map((e) => e.message)).toContainEqual(
      expect.stringContaining('the heartbeat failed'),
    );
    // The old client's late events are not heard any more.
    clients[0]!.emit('consumer:heartbeat:error', { error: new Error('late') });
    await settle();
    expect(clients).toHaveLength(2);
    await consumer.disconnect();
  });

  it('the new client joins as the same member; the old one closes without leaving as it', async () => {
    const { consumer } = await running();
    expect(clients[0]!.memberId).toBe('member-1');
    clients[0]!.emit('consumer:heartbeat:error', { error: new Error('connect ECONNREFUSED') });
    await settle();
    expect(clients[1]!.joinedAs).toEqual(['member-1']);
    expect(clients[1]!.memberId).toBe('member-1');
    expect(clients[0]!.closedAs).toBeNull();
    await consumer.disconnect();
  });

  it('after commits failing for 5 s, not before; a success in between starts the count over', async () => {
    const { consumer } = await running();
    const client = clients[0]!;
    client.commitFailure = new Error('NOT_COORDINATOR');
    await expect(commit(consumer)).rejects.toMatchObject({ retriable: true });
    now += 4000;
    await expect(commit(consumer)).rejects.toBeInstanceOf(IntakeError);
    expect(clients).toHaveLength(1);
    client.commitFailure = null;
    await commit(consumer);
    client.commitFailure = new Error('NOT_COORDINATOR');
    now += 2000;
    await expect(commit(consumer)).rejects.toBeInstanceOf(IntakeError);
    expect(clients).toHaveLength(1);
    now += 5000;
    await expect(commit(consumer)).rejects.toBeInstanceOf(IntakeError);
    expect(clients).toHaveLength(2);
    // Nothing is committed until the new client is in the group.
    await settle();
    expect(clients[1]!.joins).toBe(1);
    await commit(consumer);
    await consumer.disconnect();
  });

  it('again while the new client cannot join either, until one does', async () => {
    const { consumer } = await running();
    FakeClient.failJoins = true;
    clients[0]!.emit('consumer:heartbeat:error', { error: new Error('connect ECONNREFUSED') });
    await settle();
    expect(clients).toHaveLength(2);
    expect(clients[1]!.joins).toBe(1);
    now += 6000; // the next join, a second later, fails 6 s after the first: a third client
    await new Promise((r) => setTimeout(r, 1100));
    expect(clients).toHaveLength(3);
    expect(clients[1]!.closed).toBe(true);
    FakeClient.failJoins = false;
    await new Promise((r) => setTimeout(r, 1100));
    expect(clients[2]!.joins).toBe(1);
    expect(clients[2]!.memberId).toBe('member-1');
    await commit(consumer);
    await consumer.disconnect();
  });

  it('starts no second join loop beside one under way when the client reports a failed rejoin', async () => {
    const { consumer, crashes } = await running();
    FakeClient.failJoins = true;
    clients[0]!.emit('consumer:heartbeat:error', { error: new Error('connect ECONNREFUSED') });
    await settle();
    expect(clients[1]!.joins).toBe(1); // the loop of the start over, failing
    for (let i = 0; i < 3; i++) clients[1]!.emit('error', new Error('joinGroup failed 6 times.'));
    await new Promise((r) => setTimeout(r, 1100));
    // One loop: its second try, a second after its first; none from the three reports.
    expect(clients[1]!.joins).toBe(2);
    expect(crashes.filter((e) => e.message.includes('rejoining the group failed'))).toHaveLength(3);
    FakeClient.failJoins = false;
    await new Promise((r) => setTimeout(r, 1100));
    expect(clients[1]!.joins).toBe(3);
    await new Promise((r) => setTimeout(r, 1100));
    expect(clients[1]!.joins).toBe(3); // in: no loop joins again
    await consumer.disconnect();
  });

  it('rejoins after a failed rejoin the client reports when no join loop runs', async () => {
    const { consumer } = await running();
    expect(clients[0]!.joins).toBe(1);
    clients[0]!.emit('error', new Error('joinGroup failed 6 times.'));
    await new Promise((r) => setTimeout(r, 1100));
    expect(clients[0]!.joins).toBe(2);
    await consumer.disconnect();
  });

  it('not for a lost membership: the group moved on, and the rejoin is the client’s own', async () => {
    const { consumer } = await running();
    clients[0]!.commitFailure = Object.assign(new Error('UNKNOWN_MEMBER_ID'), {
      needsRejoin: true,
    });
    await expect(commit(consumer)).rejects.toMatchObject({ code: 'KAFKA_NOT_MEMBER' });
    now += 10_000;
    await expect(commit(consumer)).rejects.toMatchObject({ code: 'KAFKA_NOT_MEMBER' });
    expect(clients).toHaveLength(1);
    await consumer.disconnect();
  });

  it("refuses the client's own rejoin when a commit finds the group moved on: the commit fails, nothing joins", async () => {
    const { consumer } = await running();
    const client = clients[0]!;
    expect(client.joins).toBe(1);
    client.commitFailure = new Error('ILLEGAL_GENERATION');
    client.commitRejoins = true;
    await expect(commit(consumer)).rejects.toMatchObject({ code: 'KAFKA_NOT_MEMBER' });
    await settle();
    expect(client.joins).toBe(1);
    expect(clients).toHaveLength(1);
    await consumer.disconnect();
  });
});
