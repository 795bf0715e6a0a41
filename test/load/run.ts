/**
 * The load-test runner: `npm run load -- <scenario>` (or `list`) runs one scenario of
 * scenarios.json (the k6 scripts in k6/ read the same file) with vegeta against any
 * deployment, prints a summary, writes it as JSON and exits non-zero when a threshold
 * failed.
 *
 *   BASE_URL     the balancer (default http://127.0.0.1:8080, `npm run up`)
 *   API_KEY      a key (default: the one `npm run up` wrote to .intake/api-key)
 *   RATE         requests/s (stream: events/s), default the scenario's
 *   DURATION     seconds (or 30s, 10m), default the scenario's
 *   MAX_WORKERS  concurrent requests at most (default: scenarios.json's maxWorkers)
 *   SUMMARY      where to write the JSON summary (default .intake/load/<scenario>.json)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { projectRoot } from '../../lib/paths';
import { MAX_WORKERS, SCENARIOS, requestBody } from './scenarios';
import type { Scenario, Thresholds } from './scenarios';
import { streamLoad } from './stream';
import { attack } from './vegeta';
import type { Latencies } from './vegeta';

export interface LoadOptions {
  baseUrl: string;
  apiKey?: string;
  rate?: number;
  seconds?: number;
  maxWorkers?: number;
  summaryPath?: string;
  /** Overrides of the scenario's thresholds (the CI smoke on a shared machine). */
  thresholds?: Partial<Thresholds>;
}

export interface Check {
  name: string;
  limit: string;
  value: number;
  ok: boolean;
}

export interface LoadSummary {
  scenario: string;
  description: string;
  baseUrl: string;
  target: { rate: number; seconds: number; unit: string };
  requests: number;
  achievedRate: number;
  dropped: number;
  failedRate: number;
  latencyMs: Latencies;
  statusCodes: Record<string, number>;
  errors: string[];
  checks: Check[];
  ok: boolean;
  at: string;
}

export function findScenario(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new Error(`unknown scenario "${name}": ${SCENARIOS.map((x) => x.name).join(', ')}`);
  return s;
}

/** "30" / "30s" / "10m" -> seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`DURATION must be seconds, "30s" or "10m", not "${text}"`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
}

export function checks(t: Thresholds, failedRate: number, p99: number, rateRatio: number): Check[] {
  return [
    {
      name: 'failed rate',
      limit: `<= ${t.failedRate}`,
      value: +failedRate.toFixed(4),
      ok: failedRate <= t.failedRate,
    },
    { name: 'p99 ms', limit: `< ${t.p99Ms}`, value: p99, ok: p99 < t.p99Ms },
    {
      name: 'achieved / target rate',
      limit: `>= ${t.minRateRatio}`,
      value: +rateRatio.toFixed(3),
      ok: rateRatio >= t.minRateRatio,
    },
  ];
}

export async function runScenario(name: string, o: LoadOptions): Promise<LoadSummary> {
  const s = findScenario(name);
  const rate = o.rate ?? s.rate;
  const seconds = o.seconds ?? s.seconds;
  const url = `${o.baseUrl.replace(/\/$/, '')}${s.path}`;
  let summary: Omit<LoadSummary, 'checks' | 'ok'>;
  const common = {
    scenario: s.name,
    description: s.description,
    baseUrl: o.baseUrl,
    at: new Date().toISOString(),
  };
  if (s.kind === 'stream') {
    const r = await streamLoad({
      url: url.replace(/^http/, 'ws'),
      ...(o.apiKey ? { apiKey: o.apiKey } : {}),
      rate,
      seconds,
    });
    summary = {
      ...common,
      target: { rate, seconds, unit: 'events/s' },
      requests: r.sent,
      achievedRate: +(r.sent / seconds).toFixed(2),
      dropped: Math.max(0, r.expected - r.sent),
      failedRate: r.sent === 0 ? 1 : (r.rejected + r.refused + (r.sent - r.acked)) / r.sent,
      latencyMs: r.latencyMs,
      statusCodes: {},
      errors: [
        ...(r.rejected ? [`${r.rejected} events rejected`] : []),
        ...(r.refused ? [`upgrade refused ${r.refused} times`] : []),
        ...(r.acked < r.sent ? [`${r.sent - r.acked} events never acknowledged`] : []),
      ],
    };
  } else {
    const r = await attack({
      url,
      body: requestBody(s.batch),
      ...(o.apiKey ? { apiKey: o.apiKey } : {}),
      rate,
      seconds,
      maxWorkers: o.maxWorkers ?? MAX_WORKERS,
    });
    summary = {
      ...common,
      target: {
        rate,
        seconds,
        unit: s.batch === 1 ? 'requests/s' : `requests/s of ${s.batch} events`,
      },
      requests: r.requests,
      achievedRate: +r.rate.toFixed(2),
      dropped: Math.max(0, Math.round(rate * seconds) - r.requests),
      failedRate: 1 - r.success,
      latencyMs: r.latencyMs,
      statusCodes: r.statusCodes,
      errors: r.errors,
    };
  }
  const c = checks(
    { ...s.thresholds, ...o.thresholds },
    summary.failedRate,
    summary.latencyMs.p99,
    summary.achievedRate / rate,
  );
  const result: LoadSummary = { ...summary, checks: c, ok: c.every((x) => x.ok) };
  if (o.summaryPath) {
    mkdirSync(dirname(o.summaryPath), { recursive: true });
    writeFileSync(o.summaryPath, `${JSON.stringify(result, null, 2)}\n`);
  }
  return result;
}

export function formatSummary(r: LoadSummary): string {
  const lines = [
    `${r.scenario}: ${r.description}`,
    `  target ${r.target.rate} ${r.target.unit} for ${r.target.seconds} s against ${r.baseUrl}`,
    `  sent ${r.requests} (${r.achievedRate}/s, ${r.dropped} dropped), status ${JSON.stringify(r.statusCodes)}`,
    `  latency ms: p50 ${r.latencyMs.p50}, p90 ${r.latencyMs.p90}, p99 ${r.latencyMs.p99}, max ${r.latencyMs.max}`,
    ...r.errors.map((e) => `  error: ${e}`),
    ...r.checks.map((c) => `  ${c.ok ? 'PASS' : 'FAIL'} ${c.name} ${c.value} (${c.limit})`),
    r.ok ? '  thresholds: all passed' : '  thresholds: FAILED',
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const name = process.argv[2];
  if (!name || name === 'list') {
    for (const s of SCENARIOS)
      console.log(`${s.name.padEnd(17)} ${s.rate}/s for ${s.seconds} s: ${s.description}`);
    return;
  }
  const root = projectRoot(__dirname);
  const keyFile = join(root, process.env.INTAKE_STATE_DIR ?? '.intake', 'api-key');
  const apiKey =
    process.env.API_KEY ?? (existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : undefined);
  const summary = await runScenario(name, {
    baseUrl: process.env.BASE_URL ?? 'http://127.0.0.1:8080',
    ...(apiKey ? { apiKey } : {}),
    ...(process.env.RATE ? { rate: Number(process.env.RATE) } : {}),
    ...(process.env.DURATION ? { seconds: parseDuration(process.env.DURATION) } : {}),
    ...(process.env.MAX_WORKERS ? { maxWorkers: Number(process.env.MAX_WORKERS) } : {}),
    summaryPath: process.env.SUMMARY ?? join(root, '.intake', 'load', `${name}.json`),
  });
  console.log(formatSummary(summary));
  process.exit(summary.ok ? 0 : 1);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  });
}
