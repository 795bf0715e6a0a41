/**
 * The k6 scripts in k6/ against the shared scenario definitions, without k6 (AGPL, not
 * installed here): each script is compiled to CommonJS (swc) and evaluated with a small
 * stand-in for the k6 modules and k6's init-time globals (`open`, `__ENV`), and its
 * exported `options` are compared with what scenarios.json says: one constant-arrival-rate
 * scenario with the rate, duration and maxVUs, and the thresholds, in k6's threshold
 * syntax on metrics of the right type. Their k6 API use is typechecked against @types/k6
 * by `npm run typecheck` (k6/tsconfig.json).
 */
import { transformSync } from '@swc/core';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { runInThisContext } from 'node:vm';
import { MAX_WORKERS, SCENARIOS } from './scenarios';
import type { Scenario } from './scenarios';

const K6_DIR = join(__dirname, 'k6');

type Exports = Record<string, unknown>;
interface Loaded {
  exports: Exports;
  /** The custom metrics the script created at init time: name -> k6 metric type. */
  metrics: Record<string, string>;
}

/** k6/metrics classes record their name and type; everything else of k6 is a no-op. */
function k6StandIn(metrics: Record<string, string>): Exports {
  const types: Record<string, string> = {
    Counter: 'counter',
    Gauge: 'gauge',
    Rate: 'rate',
    Trend: 'trend',
  };
  const member = (name: string) =>
    function (this: unknown, metric?: unknown): void {
      if (types[name] && typeof metric === 'string') metrics[metric] = types[name];
    };
  const k6: Exports = new Proxy(
    {},
    {
      get: (_t, prop) =>
        prop === '__esModule' ? true : prop === 'default' ? k6 : member(String(prop)),
    },
  );
  return k6;
}

/** Evaluates a k6 script (and the local modules it imports) as k6's init context would. */
function loadScript(file: string, env: Record<string, string> = {}): Loaded {
  const metrics: Record<string, string> = {};
  const k6 = k6StandIn(metrics);
  const cache = new Map<string, Exports>();
  const load = (path: string): Exports => {
    const hit = cache.get(path);
    if (hit) return hit;
    const { code } = transformSync(readFileSync(path, 'utf8'), {
      filename: path,
      jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' },
      module: { type: 'commonjs' },
    });
    const module = { exports: {} as Exports };
    cache.set(path, module.exports);
    const fn = runInThisContext(`(function (exports, require, module, open, __ENV) {${code}\n})`, {
      filename: path,
    }) as (...args: unknown[]) => void;
    const require = (id: string): Exports =>
      id === 'k6' || id.startsWith('k6/') ? k6 : load(resolve(dirname(path), id));
    const open = (p: string): string => readFileSync(resolve(dirname(path), p), 'utf8');
    fn(module.exports, require, module, open, env);
    return module.exports;
  };
  return { exports: load(join(K6_DIR, file)), metrics };
}

interface K6Options {
  scenarios: Record<string, Record<string, unknown>>;
  thresholds: Record<string, string[]>;
}

const BUILT_IN: Record<string, string> = {
  http_req_failed: 'rate',
  http_req_duration: 'trend',
  dropped_iterations: 'counter',
};

/** The aggregations k6 accepts in a threshold on a metric of each type. */
const AGGREGATIONS: Record<string, RegExp> = {
  counter: /^(count|rate)$/,
  gauge: /^value$/,
  rate: /^rate$/,
  trend: /^(avg|min|max|med|p\(\d+(\.\d+)?\))$/,
};

/** What scenarios.json says a script's options must be. */
function expected(s: Scenario): K6Options {
  const stream = s.kind === 'stream';
  return {
    scenarios: {
      [s.name]: {
        executor: 'constant-arrival-rate',
        rate: stream ? s.rate / s.batch : s.rate,
        timeUnit: '1s',
        duration: `${s.seconds}s`,
        maxVUs: MAX_WORKERS,
      },
    },
    thresholds: {
      [stream ? 'stream_events_failed' : 'http_req_failed']: [`rate<=${s.thresholds.failedRate}`],
      [stream ? 'stream_ack_duration' : 'http_req_duration']: [`p(99)<${s.thresholds.p99Ms}`],
      dropped_iterations: [`count<=${s.thresholds.maxDropped}`],
    },
  };
}

describe('k6 scripts', () => {
  it('has one script per shared scenario, and no other', () => {
    const scripts = readdirSync(K6_DIR)
      .filter((f) => f.endsWith('.js') && f !== 'intake.js')
      .map((f) => f.replace(/\.js$/, ''));
    expect(scripts.sort()).toEqual(SCENARIOS.map((s) => s.name).sort());
    expect(new Set(SCENARIOS.map((s) => s.name)).size).toBe(SCENARIOS.length);
    for (const s of SCENARIOS) expect(['http', 'stream']).toContain(s.kind);
  });

  describe.each(SCENARIOS.map((s) => [s.name, s] as const))('%s', (_name, s) => {
    const { exports, metrics } = loadScript(`${s.name}.js`);
    const options = exports.options as K6Options;

    it('exports a default function and handleSummary', () => {
      expect(typeof exports.default).toBe('function');
      expect(typeof exports.handleSummary).toBe('function');
    });

    it('runs the shared scenario as an open-model constant-arrival-rate scenario', () => {
      const want = expected(s);
      expect(Object.keys(options.scenarios)).toEqual([s.name]);
      const scenario = options.scenarios[s.name]!;
      expect(scenario).toMatchObject(want.scenarios[s.name]!);
      expect(scenario.preAllocatedVUs).toBeGreaterThanOrEqual(1);
      expect(scenario.preAllocatedVUs).toBeLessThanOrEqual(MAX_WORKERS);
    });

    it('has the shared thresholds, in k6 syntax on metrics of the right type', () => {
      expect(options.thresholds).toEqual(expected(s).thresholds);
      for (const [metric, exprs] of Object.entries(options.thresholds)) {
        const type = BUILT_IN[metric] ?? metrics[metric];
        expect([metric, type]).toEqual([metric, expect.any(String)]);
        for (const expr of exprs) {
          const m = /^(\w+(?:\(\d+(?:\.\d+)?\))?)\s*(<=|<|>=|>|===|==|!=)\s*-?\d+(\.\d+)?$/.exec(
            expr,
          );
          expect(m && AGGREGATIONS[type!]!.test(m[1]!) ? 'valid' : expr).toBe('valid');
        }
      }
    });
  });

  it('takes RATE, DURATION and MAX_WORKERS from the environment', () => {
    const env = { RATE: '7', DURATION: '2m', MAX_WORKERS: '50', BASE_URL: 'http://x:1' };
    const options = loadScript('ack-single.js', env).exports.options as K6Options;
    expect(options.scenarios['ack-single']).toMatchObject({
      rate: 7,
      duration: '120s',
      maxVUs: 50,
    });
    const stream = loadScript('stream.js', { RATE: '500' }).exports.options as K6Options;
    const batch = SCENARIOS.find((s) => s.name === 'stream')!.batch;
    expect(stream.scenarios.stream!.rate).toBe(Math.round(500 / batch));
  });

  it('writes the summary as JSON to SUMMARY and the thresholds to stdout', () => {
    const { exports } = loadScript('ack-batched.js', { SUMMARY: 'out/ab.json' });
    const handleSummary = exports.handleSummary as (data: unknown) => Record<string, string>;
    const data = {
      metrics: {
        http_req_duration: {
          type: 'trend',
          values: { 'p(99)': 812.5 },
          thresholds: { 'p(99)<1000': { ok: true } },
        },
        dropped_iterations: {
          type: 'counter',
          values: { count: 3 },
          thresholds: { 'count<=0': { ok: false } },
        },
      },
    };
    const out = handleSummary(data);
    expect(Object.keys(out).sort()).toEqual(['out/ab.json', 'stdout']);
    expect(JSON.parse(out['out/ab.json']!)).toMatchObject({ scenario: 'ack-batched', ...data });
    expect(out.stdout).toContain('PASS http_req_duration p(99)<1000 (p(99)=812.5)');
    expect(out.stdout).toContain('FAIL dropped_iterations count<=0 (count=3)');
  });
});
