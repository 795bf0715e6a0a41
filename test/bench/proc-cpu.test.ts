import { cpuPerEvent, parseProcStat, processCpuSeconds } from '../../bench/proc-cpu';

describe('parseProcStat', () => {
  it("sums the machine's busy and idle seconds from the cpu line, guest time not twice", () => {
    const text = [
      'cpu  3762465 55659 616912 1689930 14685 0 68543 1311 500 20',
      'cpu0 1913085 26250 292609 837873 3733 0 31466 645 0 0',
      'intr 1 2 3',
    ].join('\n');
    const { busy, idle } = parseProcStat(text);
    expect(busy).toBeCloseTo((3762465 + 55659 + 616912 + 0 + 68543 + 1311) / 100, 6);
    expect(idle).toBeCloseTo((1689930 + 14685) / 100, 6);
  });

  it('reads a line of old kernels, without iowait and after', () => {
    expect(parseProcStat('cpu 100 0 50 850\n')).toEqual({ busy: 1.5, idle: 8.5 });
  });

  it('fails on a text without the cpu line', () => {
    expect(() => parseProcStat('cpu0 1 2 3 4\n')).toThrow('no "cpu" line');
  });
});

describe('cpuPerEvent', () => {
  it("gives each process's and the machine's µs per event, and the idle share", () => {
    const from = { processes: [10, 2], machine: { busy: 100, idle: 50 } };
    const to = { processes: [11.5, 4], machine: { busy: 104, idle: 51 } };
    expect(cpuPerEvent(from, to, 50_000)).toEqual({
      processes: [30, 40],
      machine: 80,
      idleShare: 0.2,
    });
  });

  it('keeps NaN for a process not measured', () => {
    const from = { processes: [NaN], machine: { busy: 0, idle: 0 } };
    const to = { processes: [NaN], machine: { busy: 1, idle: 1 } };
    expect(cpuPerEvent(from, to, 1000).processes[0]).toBeNaN();
  });
});

describe('processCpuSeconds', () => {
  it("reads this process's CPU time, and NaN for a process that is not there", () => {
    expect(processCpuSeconds(process.pid)).toBeGreaterThanOrEqual(0);
    expect(processCpuSeconds(2 ** 30)).toBeNaN();
  });
});
