/**
 * docs/configuration.md lists every environment variable: each `INTAKE_*` variable read in
 * services/ and lib/ is documented there, and each documented one is read by the code (or
 * by the project's shell scripts in infra/ and scripts/, e.g. the Kafka jar cache).
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { documented, filesUnder, shellReads, tsReads } from './env-scan';

const root = join(__dirname, '..', '..');
const DOC = 'docs/configuration.md';

/** Variable -> the files that read it. */
function readsIn(dirs: string[], extensions: string[], scan: (text: string) => Set<string>) {
  const reads = new Map<string, string[]>();
  for (const dir of dirs) {
    for (const file of filesUnder(join(root, dir), extensions)) {
      for (const name of scan(readFileSync(file, 'utf8'))) {
        reads.set(name, [...(reads.get(name) ?? []), relative(root, file)]);
      }
    }
  }
  return reads;
}

const code = readsIn(['services', 'lib'], ['.ts'], tsReads);
const scripts = readsIn(['infra', 'scripts'], ['.sh', '.tmpl', '.conf', 'Dockerfile'], shellReads);
const doc = documented(readFileSync(join(root, DOC), 'utf8'));

describe(DOC, () => {
  it('the scan finds the reads it must (through the config reader and process.env)', () => {
    expect(code.get('INTAKE_KAFKA_BROKERS')).toContain('lib/config.ts');
    expect(code.get('INTAKE_PULLER_UPSTREAMS')).toContain('services/puller/config.ts');
    expect(code.get('INTAKE_FAULT')).toContain('services/worker/delivery/sbml/faults.ts');
    expect(code.size).toBeGreaterThan(90);
  });

  it('documents every INTAKE_* variable that services/ and lib/ read', () => {
    const missing = [...code]
      .filter(([name]) => !doc.has(name))
      .map(([name, files]) => `${name} (read in ${files.join(', ')}) is missing from ${DOC}`);
    expect(missing).toEqual([]);
  });

  it('documents no INTAKE_* variable that nothing reads', () => {
    const dead = [...doc]
      .filter((name) => !code.has(name) && !scripts.has(name))
      .map(
        (name) =>
          `${name} is in ${DOC} but no code in services/, lib/, infra/ or scripts/ reads it`,
      );
    expect(dead).toEqual([]);
  });
});
