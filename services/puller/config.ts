/**
 * Puller configuration, from `INTAKE_*` environment variables.
 *
 * `INTAKE_PULLER_UPSTREAMS` is a JSON array of upstreams, e.g.
 * `[{"name":"demo","url":"http://127.0.0.1:8140/events","format":"sse"}]` (fields in
 * `upstream.ts`). Which puller reads which upstream is configuration: give each upstream
 * to one puller. Kafka enforces it: a second puller on the same upstream fences the first
 * (transactional id `intake-puller-<name>`), so they never both write.
 */
import { hostname } from 'node:os';
import { EnvReader, readKafkaConfig } from '../../lib/config';
import type { KafkaConfig } from '../../lib/config';
import { IntakeError } from '../../lib/errors';
import { pullerDefaults } from './puller';
import type { PullerOptions } from './puller';
import type { UpstreamSpec } from './upstream';

export interface PullerConfig {
  instance: string;
  adminHost: string;
  adminPort: number;
  kafka: KafkaConfig;
  upstreams: UpstreamSpec[];
  options: PullerOptions;
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

export function loadPullerConfig(
  env: Record<string, string | undefined> = process.env,
): PullerConfig {
  const r = new EnvReader(env);
  const port = r.int('INTAKE_PULLER_ADMIN_PORT', 9150, { min: 0, max: 65535 });
  const config: PullerConfig = {
    instance: r.str('INTAKE_INSTANCE', `puller-${hostname()}-${port}`),
    adminHost: r.str('INTAKE_PULLER_ADMIN_HOST', '127.0.0.1'),
    adminPort: port,
    kafka: readKafkaConfig(r, 'intake-puller'),
    upstreams: r.json<UpstreamSpec[]>('INTAKE_PULLER_UPSTREAMS', []),
    options: {
      maxEvents: r.int('INTAKE_PULLER_BATCH_EVENTS', pullerDefaults.maxEvents, { min: 1 }),
      lingerMs: r.int('INTAKE_PULLER_LINGER_MS', pullerDefaults.lingerMs, { min: 1 }),
      backoffMs: {
        initial: r.int('INTAKE_PULLER_BACKOFF_MS', pullerDefaults.backoffMs.initial, { min: 1 }),
        max: r.int('INTAKE_PULLER_MAX_BACKOFF_MS', pullerDefaults.backoffMs.max, { min: 1 }),
      },
      fencedBackoffMs: r.int('INTAKE_PULLER_FENCED_BACKOFF_MS', pullerDefaults.fencedBackoffMs, {
        min: 1,
      }),
      ownerCheckMs: r.int('INTAKE_PULLER_OWNER_CHECK_MS', pullerDefaults.ownerCheckMs, {
        min: 0,
      }),
    },
  };
  r.done();
  const problems: string[] = [];
  if (!Array.isArray(config.upstreams) || config.upstreams.length === 0) {
    problems.push('INTAKE_PULLER_UPSTREAMS must list at least one upstream');
  } else {
    const names = new Set<string>();
    for (const u of config.upstreams) {
      if (!u || typeof u.name !== 'string' || !NAME.test(u.name))
        problems.push('each upstream needs a "name" of letters, digits, . _ -');
      else if (names.has(u.name)) problems.push(`upstream "${u.name}" is listed twice`);
      else names.add(u.name);
      if (typeof u?.url !== 'string' || !/^https?:\/\//.test(u.url))
        problems.push(`upstream "${String(u?.name)}" needs an http(s) "url"`);
      if (u?.format !== 'sse' && u?.format !== 'ndjson')
        problems.push(`upstream "${String(u?.name)}" needs "format": "sse" or "ndjson"`);
    }
  }
  if (problems.length > 0) {
    throw new IntakeError(
      'CONFIG_INVALID',
      `${problems.join('; ')} (example: INTAKE_PULLER_UPSTREAMS='[{"name":"demo","url":"http://127.0.0.1:8140/events","format":"sse"}]')`,
    );
  }
  return config;
}
