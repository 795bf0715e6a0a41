/**
 * An edge hung beyond every timeout (SIGSTOP 30 s, then SIGCONT) under steady load: the
 * kernel still accepts its connections, so nginx only learns it is hung by its read
 * timeout (15 s, past the edge's own 10 s Kafka ack timeout); the requests it held are then
 * resent to the other edge (proxy_next_upstream timeout non_idempotent) and the hung edge
 * is marked failed. Zero acknowledged events lost; what the resumed edge still writes is a
 * duplicate with the same ids.
 */
import { pidOf } from './fault-fleet';
import { LOAD_SECONDS, runScenario, sleep } from './scenario';

describe('edge hang (fault fleet, steady load, audited)', () => {
  it('edge SIGSTOP 30 s: clients are served by the other edge, nothing lost', async () => {
    const r = await runScenario('edge-sigstop-30s', async () => {
      await sleep((LOAD_SECONDS * 1000) / 7);
      const from = Date.now();
      const pid = pidOf('edge-1');
      process.kill(pid, 'SIGSTOP');
      try {
        await sleep(30_000);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      return { from, to: Date.now() };
    });
    expect(r.lost).toBe(0);
    expect(r.unprocessed).toBe(0);
    // nginx resent what the hung edge held before the client's own 30 s timeout: no client
    // request was left without an answer (status 0; before the 15 s read timeout and
    // non_idempotent, a run had 7 of them), and none failed.
    expect(r.statuses['0']).toBeUndefined();
    expect(r.failedRequests).toBe(0);
    expect(r.statusesDuring['202']).toBeGreaterThan(0);
  });
});
