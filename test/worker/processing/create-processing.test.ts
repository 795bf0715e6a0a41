/**
 * Where the worker processes its chunks: `auto` (the default) gives SBML workers with more
 * than one core the processing thread and keeps everything else on the consumer's thread;
 * `on` and `off` are obeyed as they are; the cores count a cgroup's CPU quota.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaDefaults } from '../../../lib/config';
import { pipelineDefaults } from '../../../services/worker/pipeline/config';
import { availableCores, cgroupQuota } from '../../../services/worker/processing/cores';
import {
  createProcessing,
  usesThread,
} from '../../../services/worker/processing/create-processing';
import { silentLogger } from '../../support/fakes';

describe('usesThread', () => {
  it.each([
    ['auto', 'sbml', 2, true],
    ['auto', 'sbml', 8, true],
    ['auto', 'sbml', 1, false],
    ['auto', 'hml', 8, false],
    ['auto', 'none', 8, false],
    ['on', 'hml', 1, true],
    ['on', 'sbml', 1, true],
    ['off', 'sbml', 8, false],
  ] as const)('%s with %s on %d core(s): %s', (setting, logging, cores, expected) => {
    expect(usesThread(setting, logging, cores)).toBe(expected);
  });
});

describe('the cores a worker may use', () => {
  const dir = mkdtempSync(join(tmpdir(), 'intake-cores-'));
  const cpuMax = (text: string): string => {
    const file = join(dir, `cpu.max-${Math.random().toString(36).slice(2)}`);
    writeFileSync(file, text);
    return file;
  };

  it('reads a cgroup quota in cores, and none from "max", a missing or a bad file', () => {
    expect(cgroupQuota(cpuMax('150000 100000\n'))).toBe(1.5);
    expect(cgroupQuota(cpuMax('max 100000\n'))).toBeNull();
    expect(cgroupQuota(join(dir, 'absent'))).toBeNull();
    expect(cgroupQuota(cpuMax('lots\n'))).toBeNull();
  });

  it('counts whole cores of the quota, at least one, never more than the CPUs', () => {
    const cpus = availableParallelism();
    expect(availableCores(cpuMax('150000 100000'))).toBe(1);
    expect(availableCores(cpuMax('50000 100000'))).toBe(1);
    expect(availableCores(cpuMax('max 100000'))).toBe(cpus);
    expect(availableCores(cpuMax(`${(cpus + 3) * 100000} 100000`))).toBe(cpus);
    expect(availableCores(join(dir, 'absent'))).toBe(cpus);
  });
});

describe('createProcessing', () => {
  const settings = {
    pipeline: pipelineDefaults,
    dedup: { windowMs: 60_000, maxPerPartition: 1000 },
    topics: kafkaDefaults.topics,
    partitionCounts: { [kafkaDefaults.topics.processed]: 3 },
    instance: 'w-test',
  };
  const build = (logging: 'sbml' | 'hml', cores: number) =>
    createProcessing({
      thread: 'auto',
      logging,
      settings,
      logger: silentLogger(),
      onFailure: () => undefined,
      cores,
    });

  it('by default keeps an HML worker, and an SBML worker on one core, on the consumer thread', async () => {
    for (const p of [await build('hml', 8), await build('sbml', 1)]) {
      expect(p.where).toBe('inline');
      await p.close();
    }
  });
});
