/**
 * The load-test smoke: one load scenario (request/acknowledge, batches of 50) for 10 s at
 * a modest rate through nginx to the e2e fleet, with vegeta; its thresholds (failed
 * requests, p99, achieved rate) must pass. Skipped, loudly, when vegeta is not installed
 * (scripts/install-vegeta.sh needs Go); a failure under CI=true (test/support/components.ts). Modest on purpose, and with a p99 bound of 3 s
 * instead of the scenario's 1 s: CI machines are shared (performance is not asserted by
 * timing in tests); what must hold is that every request is answered 202 on time.
 */
import { join } from 'node:path';
import { formatSummary, runScenario } from '../load/run';
import { vegetaPath } from '../load/vegeta';
import { requireComponent } from '../support/components';
import { E2E_FLEET, ROOT, e2eApiKey } from '../support/test-env';

const maybe = requireComponent(
  'vegeta',
  vegetaPath() ? null : 'not in .intake/bin, $VEGETA or PATH',
  'load smoke',
)
  ? it
  : it.skip;

describe('load smoke (vegeta, test/load)', () => {
  maybe('ack-batched, 20 requests/s of 50 events for 10 s, passes its thresholds', async () => {
    // Warm up: an edge connects its producer on its first request.
    for (let i = 0; i < 4; i++) {
      const warm = await fetch(`${E2E_FLEET.baseUrl}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${e2eApiKey()}` },
        body: JSON.stringify({ type: 'warm_up' }),
      });
      expect(warm.status).toBe(202);
    }
    const summary = await runScenario('ack-batched', {
      baseUrl: E2E_FLEET.baseUrl,
      apiKey: e2eApiKey(),
      rate: 20,
      seconds: 10,
      thresholds: { p99Ms: 3000 },
      summaryPath: join(ROOT, '.intake', 'test-results-load', 'ack-batched.json'),
    });
    console.log(formatSummary(summary));
    expect(summary.requests).toBeGreaterThanOrEqual(190);
    expect(summary.statusCodes['202']).toBe(summary.requests);
    expect(summary.checks.filter((c) => !c.ok)).toEqual([]);
  });
});
