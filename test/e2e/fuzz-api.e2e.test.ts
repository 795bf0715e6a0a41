/**
 * A bounded API fuzz pass in `npm test`: schemathesis (scripts/fuzz-api.sh, installed into
 * .intake/venv from PyPI on first use) against the e2e fleet through nginx, with a fixed
 * seed and a 90 s budget, every check on (no 5xx, answers as docs/openapi.json says).
 * Reads the run's JSON report so a run that tested nothing cannot pass.
 *
 * Generated from docs/openapi.json without the `text/plain` (beacon) request body of
 * `POST /v1/events`: it is documented as any text, since a page's beacon sends JSON or
 * NDJSON as text, so the generator's arbitrary strings would be "valid" bodies the edge
 * rightly refuses (400/422). The beacon path has its own tests (test/edge/http/beacon.test.ts,
 * test/e2e/browser.e2e.test.ts); every JSON body and every answer is fuzzed as before.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { E2E_FLEET, ROOT } from '../support/test-env';

const SEED = '20261130';
const MAX_SECONDS = 90;

interface FuzzReport {
  exit_code: number;
  operations: { selected: number; tested: number; errored: number };
  test_cases: { generated: number; with_failures: number; errored: number };
  failures: unknown[];
  errors: unknown[];
}

/** docs/openapi.json without the text/plain request bodies (see the module comment). */
function specWithoutBeaconBodies(path: string): void {
  const spec = JSON.parse(readFileSync(resolve(ROOT, 'docs', 'openapi.json'), 'utf8')) as {
    paths: Record<string, Record<string, { requestBody?: { content?: Record<string, unknown> } }>>;
  };
  const content = spec.paths['/v1/events']?.post?.requestBody?.content;
  if (!content?.['text/plain'])
    throw new Error('docs/openapi.json: no text/plain body to leave out');
  delete content['text/plain'];
  writeFileSync(path, JSON.stringify(spec));
}

function runFuzz(reportPath: string, specPath: string): Promise<number | null> {
  return new Promise((done, fail) => {
    const child = spawn(
      'bash',
      [
        resolve(ROOT, 'scripts', 'fuzz-api.sh'),
        '--seed',
        SEED,
        '--max-time',
        String(MAX_SECONDS),
        '--generation-database',
        'none',
        '--no-color',
        '--report',
        'json',
        '--report-json-path',
        reportPath,
      ],
      {
        env: {
          ...process.env,
          INTAKE_STATE_DIR: E2E_FLEET.stateDir,
          INTAKE_FUZZ_URL: E2E_FLEET.baseUrl,
          INTAKE_FUZZ_SPEC: specPath,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', fail);
    child.on('close', (code) => {
      if (code !== 0) console.log(`schemathesis output (last 20 kB):\n${output}`);
      done(code);
    });
  });
}

describe('API fuzz (schemathesis, fixed seed, bounded)', () => {
  it(`finds no server error and no answer unlike docs/openapi.json in ${MAX_SECONDS} s`, async () => {
    const dir = resolve(ROOT, '.intake', 'test-results-fuzz');
    mkdirSync(dir, { recursive: true });
    const reportPath = resolve(dir, `fuzz-${process.env.INTAKE_TEST_PORT_OFFSET ?? 0}.json`);
    rmSync(reportPath, { force: true });
    const specPath = resolve(dir, 'openapi-without-beacon.json');
    specWithoutBeaconBodies(specPath);
    const code = await runFuzz(reportPath, specPath);
    const report = JSON.parse(readFileSync(reportPath, 'utf8')) as FuzzReport;
    console.log(
      `schemathesis: ${report.test_cases.generated} cases over ${report.operations.tested} operations, ${report.test_cases.with_failures} failing`,
    );
    expect(report.failures).toEqual([]);
    expect(report.errors).toEqual([]);
    expect(code).toBe(0);
    expect(report.operations.tested).toBe(report.operations.selected);
    expect(report.operations.tested).toBeGreaterThanOrEqual(5);
    expect(report.test_cases.generated).toBeGreaterThan(100);
  });
});
