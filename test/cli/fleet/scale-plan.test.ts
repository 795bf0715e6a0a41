/**
 * Adding and removing edges in the fleet's plan (`intake add edge`, `intake remove edge-1`)
 * and the nginx config rendered from the result.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderNginxConfig } from '../../../services/cli/fleet/nginx';
import { makePlan, withEdgeAdded, withEdgeRemoved } from '../../../services/cli/fleet/plan';

const root = resolve(__dirname, '..', '..', '..');
const template = readFileSync(resolve(root, 'infra', 'nginx', 'nginx.conf.tmpl'), 'utf8');
const env = { INTAKE_HTTP_PORT: '18080', INTAKE_STATE_DIR: '/tmp/x', INTAKE_DEMO_PULLER: 'off' };
const upstreams = (conf: string): string[] =>
  [...conf.matchAll(/server 127\.0\.0\.1:(\d+) /g)].map((m) => m[1]!);

describe('adding and removing edges', () => {
  it('adds the next edge on the next port and puts it in the nginx upstream', () => {
    const plan = makePlan(root, { edges: 2 }, env);
    const { plan: next, edge } = withEdgeAdded(plan);
    expect(edge).toEqual({ name: 'edge-3', kind: 'edge', port: 18083 });
    expect(next.edges.map((e) => e.name)).toEqual(['edge-1', 'edge-2', 'edge-3']);
    expect(plan.edges).toHaveLength(2); // the plan it started from is unchanged
    expect(upstreams(renderNginxConfig(next, template))).toEqual(['18081', '18082', '18083']);
  });

  it('removes an edge from the upstream, and reuses its number and port when one is added', () => {
    const three = withEdgeAdded(makePlan(root, { edges: 2 }, env)).plan;
    const two = withEdgeRemoved(three, 'edge-1');
    expect(two.edges.map((e) => e.name)).toEqual(['edge-2', 'edge-3']);
    expect(upstreams(renderNginxConfig(two, template))).toEqual(['18082', '18083']);
    const { edge } = withEdgeAdded(two);
    expect(edge).toEqual({ name: 'edge-1', kind: 'edge', port: 18081 });
  });

  it('uses the configured edge base port, also for a record without one (httpPort + 1)', () => {
    const plan = makePlan(root, { edges: 1 }, { ...env, INTAKE_EDGE_BASE_PORT: '20000' });
    expect(withEdgeAdded(plan).edge.port).toBe(20001);
    const { edgeBasePort: _, ...old } = makePlan(root, { edges: 1 }, env);
    expect(withEdgeAdded(old).edge.port).toBe(18082);
  });

  it('refuses a port another process uses, an unknown edge and the last edge', () => {
    const plan = makePlan(root, { edges: 1 }, { ...env, INTAKE_WORKER_BASE_PORT: '18082' });
    expect(() => withEdgeAdded(plan)).toThrow(/edge-2 would listen on 18082, which worker-1 uses/);
    expect(() => withEdgeRemoved(plan, 'edge-7')).toThrow(/no edge "edge-7"; its edges are edge-1/);
    expect(() => withEdgeRemoved(plan, 'worker-1')).toThrow(/no edge "worker-1"/);
    expect(() => withEdgeRemoved(plan, 'edge-1')).toThrow(/last edge/);
  });
});
