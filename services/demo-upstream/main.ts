/**
 * The demo upstream of the local fleet: a numbered SSE stream on
 * `INTAKE_DEMO_UPSTREAM_HOST`:`INTAKE_DEMO_UPSTREAM_PORT` (default 127.0.0.1:8140) at
 * `INTAKE_DEMO_RATE` events a second (default 2), for the demo puller to pull into
 * intake.raw; `/healthz`, `/readyz` and `/metrics` on the same port (demo-upstream.ts).
 */
import { hostname } from 'node:os';
import { EnvReader } from '../../lib/config';
import { exitOnStartupFailure, handleShutdownSignals } from '../../lib/lifecycle';
import { createLogger } from '../../lib/logger';
import { startDemoUpstream } from './demo-upstream';

async function main(): Promise<void> {
  const r = new EnvReader(process.env);
  const host = r.str('INTAKE_DEMO_UPSTREAM_HOST', '127.0.0.1');
  const port = r.int('INTAKE_DEMO_UPSTREAM_PORT', 8140, { min: 0, max: 65535 });
  const rate = r.int('INTAKE_DEMO_RATE', 2, { min: 1, max: 100_000 });
  const instance = r.str('INTAKE_INSTANCE', `demo-upstream-${hostname()}-${port}`);
  r.done();
  const logger = createLogger('demo-upstream');
  const upstream = await startDemoUpstream({ host, port, ratePerSecond: rate, instance });
  logger.info({ host, port: upstream.port, rate }, 'demo_upstream_listening');
  handleShutdownSignals(logger, () => upstream.stop());
}

main().catch((err: unknown) => exitOnStartupFailure(createLogger('demo-upstream'), err));
