/**
 * Adding and removing an edge under steady load through nginx, with the project's own
 * commands: `intake add edge` (starts edge-3, waits until it is ready, reloads nginx) and
 * `intake remove edge-1` (takes it out of nginx with a graceful reload, then SIGTERM: it
 * drains). No request may fail and nothing acknowledged may be lost. Afterwards the fleet
 * gets its usual shape back (edge-1 added again, edge-3 removed) for the other scenarios.
 */
import { readCounter } from '../../services/cli/fleet/probe';
import { isAlive, readState } from '../../services/cli/fleet/state';
import { FAULT_FLEET, fleetCliAsync, pidOf } from './fault-fleet';
import { LOAD_SECONDS, runScenario, sleep } from './scenario';

const edges = (): string[] =>
  (readState(FAULT_FLEET.stateDir)?.plan.edges ?? []).map((e) => e.name).sort();
const edgePort = (name: string): number =>
  readState(FAULT_FLEET.stateDir)!.plan.edges.find((e) => e.name === name)!.port;

describe('fault: adding and removing an edge with nginx reloads (real fleet, steady load, audited)', () => {
  afterAll(async () => {
    if (!edges().includes('edge-1')) await fleetCliAsync('add', 'edge');
    if (edges().includes('edge-3')) await fleetCliAsync('remove', 'edge-3');
  });

  it('add edge-3, then remove edge-1: no failed request, nothing lost', async () => {
    const seen = { edgesAfterAdd: [] as string[], edge3Accepted: 0, edge1Pid: 0 };
    const r = await runScenario('edge-add-remove', async () => {
      const gap = (LOAD_SECONDS * 1000) / 4;
      await sleep(gap);
      const from = Date.now();
      await fleetCliAsync('add', 'edge');
      seen.edgesAfterAdd = edges();
      await sleep(gap);
      // nginx sends edge-3 its share of the load.
      seen.edge3Accepted = await readCounter(
        edgePort('edge-3'),
        'intake_edge_events_accepted_total',
      );
      seen.edge1Pid = pidOf('edge-1');
      await fleetCliAsync('remove', 'edge-1');
      return { from, to: Date.now() };
    });
    console.log(`edge-add-remove: ${JSON.stringify(seen)}`);
    expect(seen.edgesAfterAdd).toEqual(['edge-1', 'edge-2', 'edge-3']);
    expect(edges()).toEqual(['edge-2', 'edge-3']);
    expect(isAlive(seen.edge1Pid)).toBe(false);
    expect(readState(FAULT_FLEET.stateDir)?.processes.map((p) => p.name)).not.toContain('edge-1');
    expect(seen.edge3Accepted).toBeGreaterThan(0);
    expect(r.failedRequests).toBe(0);
    expect(r.lost).toBe(0);
    expect(r.unprocessed).toBe(0);
    expect(r.acknowledged).toBeGreaterThan(0);
  });
});
