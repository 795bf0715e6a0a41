/**
 * A CPU profile of one edge at peak: the edge runs under `node --cpu-prof` (V8's sampling
 * profiler), takes closed-loop load directly (no nginx) with single events and then
 * batches, and on SIGTERM writes its profile; this sums the samples' self time per
 * function and returns the top of the list.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { requestBody } from '../test/load/scenarios';
import { attack } from '../test/load/vegeta';
import { startBenchEdge } from './edge-process';
import type { BenchEdge } from './edge-process';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface ProfileEntry {
  function: string;
  where: string;
  selfPercent: number;
}

/** Self time per function (name + file:line), as a share of all samples. */
export function summarizeProfile(file: string, root: string, top = 15): ProfileEntry[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] };
  const byFunction = new Map<string, { fn: string; where: string; hits: number }>();
  let total = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    total += hits;
    const { functionName, url, lineNumber } = n.callFrame;
    const path = url.startsWith('file://') ? relative(root, url.slice(7)) : url;
    const where = path ? `${path}:${lineNumber + 1}` : '';
    const fn = functionName || '(anonymous)';
    const k = `${fn} ${where}`;
    const e = byFunction.get(k) ?? { fn, where, hits: 0 };
    e.hits += hits;
    byFunction.set(k, e);
  }
  return [...byFunction.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, top)
    .map((e) => ({
      function: e.fn,
      where: e.where,
      selfPercent: +((100 * e.hits) / total).toFixed(1),
    }));
}

export async function profileEdge(opts: {
  root: string;
  brokers: string;
  port: number;
  apiKey: string;
  seconds: number;
  cpus?: string;
}): Promise<ProfileEntry[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-profile-'));
  let edge: BenchEdge | null = null;
  try {
    edge = await startBenchEdge({
      root: opts.root,
      brokers: opts.brokers,
      port: opts.port,
      apiKey: opts.apiKey,
      dir,
      instance: 'bench-profiled-edge',
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
    });
    const cpus = opts.cpus ? { cpus: opts.cpus } : {};
    const half = opts.seconds / 2;
    const common = {
      url: `${edge.url}/v1/events`,
      apiKey: opts.apiKey,
      rate: 0,
      seconds: half,
      ...cpus,
    };
    await attack({ ...common, body: requestBody(1), maxWorkers: 50 });
    await attack({ ...common, body: requestBody(100), maxWorkers: 16 });
    await edge.stop();
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('the edge wrote no CPU profile');
    return summarizeProfile(join(dir, file), opts.root);
  } finally {
    edge?.process.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
