// @ts-check
/**
 * What the k6 scripts here share: the scenario definitions (../scenarios.json, the file the
 * vegeta runner reads too), the environment, the k6 options built from both, the request
 * and stream iterations, and handleSummary. A script is three lines on top of this; see
 * ack-batched.js.
 *
 *   BASE_URL     the balancer (default http://127.0.0.1:8080, `npm run up`)
 *   API_KEY      a key (default: the one `npm run up` wrote to .intake/api-key, if there)
 *   RATE         requests/s (stream: events/s), default the scenario's
 *   DURATION     seconds, "30s" or "10m", default the scenario's
 *   MAX_WORKERS  k6's maxVUs: concurrent requests at most (default scenarios.json's)
 *   SUMMARY      where handleSummary writes its JSON (default <scenario>-summary.json)
 *
 * Every script is an open model: one `constant-arrival-rate` scenario starts iterations at
 * the target rate whether or not earlier ones have finished. Its thresholds come from the
 * scenario definition: the failed share (`http_req_failed`, or `stream_events_failed`),
 * the p99 latency (`http_req_duration`, or `stream_ack_duration`: a message sent -> the
 * edge's cumulative ack covering it) and `dropped_iterations` (iterations k6 could not
 * start on time because all maxVUs were busy).
 */
import { check } from 'k6';
import http from 'k6/http';
import { Rate, Trend } from 'k6/metrics';
import ws from 'k6/ws';

/**
 * @typedef {{ failedRate: number, p99Ms: number, minRateRatio: number, maxDropped: number }} Thresholds
 * @typedef {{ name: string, description: string, kind: 'http' | 'stream', path: string,
 *   batch: number, rate: number, seconds: number, thresholds: Thresholds }} Scenario
 * @typedef {{ maxWorkers: number, event: { key: string, data: Record<string, unknown> },
 *   scenarios: Scenario[] }} Definitions
 * @typedef {import('k6/options').Options} Options
 * @typedef {{ metrics: Record<string, { type: string, values: Record<string, number>,
 *   thresholds?: Record<string, { ok: boolean }> }> }} SummaryData
 * @typedef {{ options: Options, iteration: () => void,
 *   handleSummary: (data: SummaryData) => Record<string, string> }} Script
 */

const definitions = /** @type {Definitions} */ (JSON.parse(open('../scenarios.json')));

/** @param {string} name */
function findScenario(name) {
  const s = definitions.scenarios.find((x) => x.name === name);
  if (!s) throw new Error(`unknown scenario "${name}"`);
  return s;
}

/** "30" / "30s" / "10m" -> seconds (as the vegeta runner reads DURATION). @param {string} text */
function parseDuration(text) {
  const m = /^(\d+(?:\.\d+)?)(s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`DURATION must be seconds, "30s" or "10m", not "${text}"`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
}

/** API_KEY, else the key `npm run up` wrote (open() works only here, at init time). */
function apiKey() {
  if (__ENV.API_KEY) return __ENV.API_KEY;
  try {
    return open('../../../.intake/api-key').trim();
  } catch {
    return '';
  }
}

const baseUrl = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const key = apiKey();
/** @type {Record<string, string>} */
const authorization = key ? { authorization: `Bearer ${key}` } : {};

/** The event a scenario sends (~300 B as JSON): the shared template, numbered by `i`. */
/** @param {number} i */
function loadEvent(i) {
  const e = definitions.event;
  return { ...e, key: `visitor-${i % 1000}`, data: { ...e.data, path: `/products/${i}` } };
}

/**
 * The k6 options of a scenario: its rate and duration (RATE / DURATION override them),
 * maxVUs from MAX_WORKERS or the definitions, and its thresholds. For the stream one
 * iteration sends `batch` events, so iterations/s is the event rate / batch.
 * @param {Scenario} s
 * @returns {Options}
 */
function k6Options(s) {
  const rate = __ENV.RATE ? Number(__ENV.RATE) : s.rate;
  const seconds = __ENV.DURATION ? parseDuration(__ENV.DURATION) : s.seconds;
  const maxVUs = __ENV.MAX_WORKERS ? Number(__ENV.MAX_WORKERS) : definitions.maxWorkers;
  const perSecond = s.kind === 'stream' ? Math.max(1, Math.round(rate / s.batch)) : rate;
  const [failed, latency] =
    s.kind === 'stream'
      ? ['stream_events_failed', 'stream_ack_duration']
      : ['http_req_failed', 'http_req_duration'];
  return {
    discardResponseBodies: true,
    summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(99)'],
    scenarios: {
      [s.name]: {
        executor: 'constant-arrival-rate',
        rate: perSecond,
        timeUnit: '1s',
        duration: `${seconds}s`,
        // A VU per request in flight; a quarter second's worth up front, more on demand.
        preAllocatedVUs: Math.min(maxVUs, Math.max(5, Math.ceil(perSecond / 4))),
        maxVUs,
      },
    },
    thresholds: {
      [failed]: [`rate<=${s.thresholds.failedRate}`],
      [latency]: [`p(99)<${s.thresholds.p99Ms}`],
      dropped_iterations: [`count<=${s.thresholds.maxDropped}`],
    },
  };
}

/**
 * Writes k6's end-of-test data as JSON to SUMMARY (default <scenario>-summary.json) and a
 * few lines to stdout: the target, and each threshold with its value and PASS/FAIL.
 * @param {Scenario} s
 * @param {Options} options
 */
function summaryWriter(s, options) {
  /** @param {SummaryData} data */
  return (data) => {
    const scenario = options.scenarios?.[s.name];
    const target = scenario?.executor === 'constant-arrival-rate' ? scenario : undefined;
    const lines = [
      `${s.name}: ${s.description}`,
      `  target ${target?.rate ?? '?'} iterations/s for ${target?.duration ?? '?'} against ${baseUrl}`,
    ];
    for (const [metric, m] of Object.entries(data.metrics)) {
      for (const [expr, t] of Object.entries(m.thresholds ?? {})) {
        const values = Object.entries(m.values)
          .map(([k, v]) => `${k}=${Math.round(v * 1000) / 1000}`)
          .join(' ');
        lines.push(`  ${t.ok ? 'PASS' : 'FAIL'} ${metric} ${expr} (${values})`);
      }
    }
    const json = JSON.stringify({ scenario: s.name, baseUrl, ...data }, null, 2);
    return { stdout: `${lines.join('\n')}\n`, [__ENV.SUMMARY || `${s.name}-summary.json`]: json };
  };
}

/**
 * A scenario posting `batch` events per request to its path (the iteration fails unless
 * the answer is 2xx, as the vegeta runner counts failures).
 * @param {string} name
 * @returns {Script}
 */
export function httpScript(name) {
  const s = findScenario(name);
  if (s.kind !== 'http') throw new Error(`${name} is not an HTTP scenario`);
  const options = k6Options(s);
  const body =
    s.batch === 1
      ? JSON.stringify(loadEvent(1))
      : JSON.stringify(Array.from({ length: s.batch }, (_, i) => loadEvent(i)));
  const params = {
    headers: { 'content-type': 'application/json', ...authorization },
    tags: { name: s.name },
  };
  const url = `${baseUrl}${s.path}`;
  return {
    options,
    iteration: () => {
      const res = http.post(url, body, params);
      check(res, { 'answered 2xx': (r) => r.status >= 200 && r.status < 300 });
    },
    handleSummary: summaryWriter(s, options),
  };
}

/**
 * The WebSocket stream: each iteration opens /v1/stream, sends `batch` events as one
 * message of `{"seq": n, "event": ...}` lines and waits (30 s at most) for the edge's
 * cumulative `{"ack": n}` covering them all. An event refused with `{"seq", "error"}` or
 * never acknowledged counts as failed; the ack latency is from sending the message to the
 * ack covering its last event.
 * @param {string} name
 * @returns {Script}
 */
export function streamScript(name) {
  const s = findScenario(name);
  if (s.kind !== 'stream') throw new Error(`${name} is not a stream scenario`);
  const options = k6Options(s);
  // Metrics exist from init time on, so their thresholds can name them.
  const ackDuration = new Trend('stream_ack_duration', true);
  const eventsFailed = new Rate('stream_events_failed');
  const url = `${baseUrl.replace(/^http/, 'ws')}${s.path}`;
  let next = 0;
  return {
    options,
    iteration: () => {
      const n = s.batch;
      const first = next;
      next += n;
      const message = Array.from({ length: n }, (_, i) =>
        JSON.stringify({ seq: i + 1, event: loadEvent(first + i) }),
      ).join('\n');
      let acked = 0;
      let rejected = 0;
      let sentAt = 0;
      const res = ws.connect(url, { headers: authorization }, (socket) => {
        socket.on('open', () => {
          sentAt = Date.now();
          socket.send(message);
        });
        socket.on('message', (text) => {
          const m = /** @type {{ ack?: number, seq?: number, error?: string }} */ (
            JSON.parse(text)
          );
          if (typeof m.seq === 'number' && m.error) rejected++;
          else if (m.error) socket.close(); // the stream itself was refused
          if (typeof m.ack === 'number' && m.ack > acked) {
            acked = m.ack;
            if (acked >= n) {
              ackDuration.add(Date.now() - sentAt);
              socket.close();
            }
          }
        });
        socket.setTimeout(() => socket.close(), 30000);
      });
      check(res, { 'upgraded (101)': (r) => r.status === 101 });
      const failed = rejected + (n - Math.min(acked, n));
      for (let i = 0; i < n; i++) eventsFailed.add(i < failed);
    },
    handleSummary: summaryWriter(s, options),
  };
}
