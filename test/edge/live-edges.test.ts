/**
 * Counting the live edges from their reply groups, with a fake admin client: groups with
 * a member count, empty ones (a killed edge after its session timeout) and other groups
 * do not, this edge counts itself, and a failed poll keeps the last count.
 */
import { LiveEdges } from '../../services/edge/live-edges';
import type { GroupDescription } from '../../lib/kafka/port';
import type { GroupAdmin } from '../../services/edge/live-edges';
import { silentLogger } from '../support/fakes';

class FakeGroupAdmin implements GroupAdmin {
  /** groupId -> members */
  groups = new Map<string, number>();
  failing = false;
  connected = false;
  async connect(): Promise<void> {
    this.connected = true;
    await Promise.resolve();
  }
  async disconnect(): Promise<void> {
    this.connected = false;
    await Promise.resolve();
  }
  async listGroups(): Promise<string[]> {
    await Promise.resolve();
    if (this.failing) throw new Error('broker unreachable');
    return [...this.groups.keys()];
  }
  async describeGroups(ids: string[]): Promise<GroupDescription[]> {
    await Promise.resolve();
    return ids.map((groupId) => ({
      groupId,
      state: 'Stable',
      members: Array.from({ length: this.groups.get(groupId) ?? 0 }, (_, i) => ({
        memberId: `m${i}`,
        clientId: 'c',
      })),
    }));
  }
}

function liveEdges(admin: FakeGroupAdmin): LiveEdges {
  return new LiveEdges({
    admin,
    groupPrefix: 'intake-replies-',
    ownGroup: 'intake-replies-me',
    intervalMs: 60_000,
    logger: silentLogger(),
  });
}

describe('LiveEdges', () => {
  it('counts the reply groups that have a member, this edge included', async () => {
    const admin = new FakeGroupAdmin();
    admin.groups.set('intake-replies-me', 1);
    admin.groups.set('intake-replies-b', 1);
    admin.groups.set('intake-replies-killed', 0); // its members timed out
    admin.groups.set('intake-view-x', 1); // not an edge's reply group
    admin.groups.set('intake-workers', 2);
    const edges = liveEdges(admin);
    await edges.start();
    expect(edges.count).toBe(2);
    admin.groups.set('intake-replies-c', 1);
    await edges.poll();
    expect(edges.count).toBe(3);
    admin.groups.delete('intake-replies-b'); // a clean stop deletes the group
    admin.groups.set('intake-replies-c', 0);
    await edges.poll();
    expect(edges.count).toBe(1);
    await edges.stop();
    expect(admin.connected).toBe(false);
  });

  it('counts itself before its own group has joined', async () => {
    const admin = new FakeGroupAdmin();
    admin.groups.set('intake-replies-other', 1);
    const edges = liveEdges(admin);
    await edges.start();
    expect(edges.count).toBe(2);
    await edges.stop();
  });

  it('keeps the last count while polls fail, and starts at 1 when the first fails', async () => {
    const admin = new FakeGroupAdmin();
    admin.failing = true;
    const edges = liveEdges(admin);
    await edges.start();
    expect(edges.count).toBe(1);
    admin.failing = false;
    admin.groups.set('intake-replies-me', 1);
    admin.groups.set('intake-replies-b', 1);
    await edges.poll();
    expect(edges.count).toBe(2);
    admin.failing = true;
    await edges.poll();
    expect(edges.count).toBe(2);
    await edges.stop();
  });
});
