/**
 * The cores this process may use: the CPUs it may run on (`os.availableParallelism()`),
 * bounded by its cgroup's CPU quota when it has one (cgroup v2 `cpu.max`, e.g. a container
 * or a Kubernetes pod with a CPU limit), which Node 20 does not count.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export const CGROUP_CPU_MAX = '/sys/fs/cgroup/cpu.max';

/** Cores usable at once, at least 1; a quota of 1.5 cores counts as 1. */
export function availableCores(cpuMaxFile = CGROUP_CPU_MAX): number {
  const cpus = availableParallelism();
  const quota = cgroupQuota(cpuMaxFile);
  return Math.max(1, quota === null ? cpus : Math.min(cpus, Math.floor(quota)));
}

/** The quota in cores (`<quota> <period>`), null with none (`max`) or no readable file. */
export function cgroupQuota(cpuMaxFile: string): number | null {
  let text: string;
  try {
    text = readFileSync(cpuMaxFile, 'utf8');
  } catch {
    return null;
  }
  const [quota, period] = text.trim().split(/\s+/);
  const q = Number(quota);
  const p = Number(period);
  return quota === 'max' || !(q > 0) || !(p > 0) ? null : q / p;
}
