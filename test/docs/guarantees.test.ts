/**
 * The fault counts docs/guarantees.md states are the ones docs/faults.json (written by
 * the fault scenarios) records.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

interface FaultRun {
  scenario: string;
  fleet: string;
  logging: string;
  lost: number;
  duplicates: number;
}

const runs = JSON.parse(readFileSync(join(root, 'docs/faults.json'), 'utf8')) as FaultRun[];
const guarantees = readFileSync(join(root, 'docs/guarantees.md'), 'utf8').replace(/\s+/g, ' ');

const sum = (rs: FaultRun[], key: 'lost' | 'duplicates'): number =>
  rs.reduce((total, r) => total + r[key], 0);

describe('docs/guarantees.md against docs/faults.json', () => {
  it('states the HML runs, their losses and duplicates, by fleet, as recorded', () => {
    const claim =
      /Every scenario with HML in \[faults\.json\]\(faults\.json\)[^:]*: (\d+) runs, (\d+) lost, (\d+) duplicates; (\d+) with one broker .*? and (\d+) with three brokers/.exec(
        guarantees,
      );
    expect(claim).not.toBeNull();
    const hml = runs.filter((r) => r.logging === 'hml');
    const stated = claim!.slice(1).map(Number);
    expect({
      runs: stated[0],
      lost: stated[1],
      duplicates: stated[2],
      oneBroker: stated[3],
      threeBrokers: stated[4],
    }).toEqual({
      runs: hml.length,
      lost: sum(hml, 'lost'),
      duplicates: sum(hml, 'duplicates'),
      oneBroker: hml.filter((r) => r.fleet.includes('1 broker')).length,
      threeBrokers: hml.filter((r) => r.fleet.includes('3 brokers')).length,
    });
  });

  it('"Each must report 0 lost": no run in faults.json lost an acknowledged event', () => {
    expect(guarantees).toContain('Each must report 0 lost');
    expect(runs.filter((r) => r.lost !== 0).map((r) => `${r.scenario} (${r.logging})`)).toEqual([]);
  });
});
