/**
 * CPU counters from /proc (Linux) for the benchmarks: the CPU time of given processes and
 * of the whole machine at one moment, and the CPU per event between two such moments.
 * /proc counts in clock ticks of 10 ms (USER_HZ 100), so a window should last seconds.
 */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/** CPU time (user + system, all threads) a process used so far, in seconds; NaN once gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime, stime
  } catch {
    return NaN;
  }
}

/** The machine's CPU time so far, summed over its cores, in seconds. */
export interface MachineCpu {
  busy: number;
  /** idle and waiting for I/O */
  idle: number;
}

/**
 * The machine's CPU time from the text of /proc/stat (its `cpu` line: user nice system
 * idle iowait irq softirq steal guest guest_nice; guest time is already in user and nice).
 */
export function parseProcStat(text: string): MachineCpu {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no "cpu" line');
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] =
    line.trim().split(/\s+/).slice(1).map(Number);
  return {
    busy: (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND,
    idle: (idle + iowait) / TICKS_PER_SECOND,
  };
}

/** CPU seconds so far of each of `pids` (in their order) and of the machine. */
export interface CpuSample {
  processes: number[];
  machine: MachineCpu;
}

export function sampleCpu(pids: number[]): CpuSample {
  return {
    processes: pids.map(processCpuSeconds),
    machine: parseProcStat(readFileSync('/proc/stat', 'utf8')),
  };
}

/** CPU used between two samples, per event of `events` handled between them. */
export interface CpuPerEvent {
  /** µs per event of each process, in the samples' order */
  processes: number[];
  /** µs per event of the whole machine: every process on every core */
  machine: number;
  /** the share of the machine's CPU time (all cores) left idle */
  idleShare: number;
}

export function cpuPerEvent(from: CpuSample, to: CpuSample, events: number): CpuPerEvent {
  const us = (seconds: number): number => +((seconds * 1e6) / events).toFixed(1);
  const busy = to.machine.busy - from.machine.busy;
  const idle = to.machine.idle - from.machine.idle;
  return {
    processes: to.processes.map((s, i) => us(s - from.processes[i]!)),
    machine: us(busy),
    idleShare: +(idle / (busy + idle)).toFixed(3),
  };
}
