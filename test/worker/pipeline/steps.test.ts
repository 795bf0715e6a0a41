import fc from 'fast-check';
import { wrapEvent } from '../../../lib/envelope';
import type { Envelope } from '../../../lib/envelope';
import type { SideRecord, StepContext, StepResult } from '../../../lib/pipeline';
import { pipelineDefaults } from '../../../services/worker/pipeline/config';
import { createPipeline } from '../../../services/worker/pipeline/create-pipeline';
import { enrichStep } from '../../../services/worker/pipeline/steps/enrich-step';
import { ScoreStep } from '../../../services/worker/pipeline/steps/score-step';
import type { ScoreRecord } from '../../../services/worker/pipeline/steps/score-step';
import { loadSchemas, validateStep } from '../../../services/worker/pipeline/steps/validate-step';
import { silentLogger } from '../../support/fakes';

function event(type: string, data: unknown, key = 'visitor-1', userAgent?: string): Envelope {
  const r = wrapEvent(
    { type, data, key },
    { source: 'web', pattern: 'request-ack', receivedAt: new Date(), meta: { userAgent } },
  );
  if (!r.ok) throw new Error(r.reason);
  return r.envelope;
}

function ctx(offset: number, partition = 0): StepContext & { side: SideRecord[] } {
  const side: SideRecord[] = [];
  return {
    topic: 'intake.raw',
    partition,
    offset: String(offset),
    emit: (r) => side.push(r),
    side,
  };
}

const schemas = loadSchemas(pipelineDefaults.schemasDir);

describe('validate step', () => {
  const step = validateStep({ schemas, unknownTypes: 'pass' });

  it.each([
    ['page_view', { path: '/home' }],
    ['product_view', { sku: 'A1', price: 9.5 }],
    ['add_to_cart', { sku: 'A1', quantity: 2, price: 9.5 }],
    ['checkout', { orderId: 'o-1', total: 19 }],
  ])('passes a valid %s', (type, data) => {
    expect(step.run(event(type, data), ctx(1))).toMatchObject({ kind: 'ok' });
  });

  it.each([
    ['page_view', {}, /data\/ must have required property 'path'/],
    ['add_to_cart', { sku: 'A1', quantity: 0, price: 1 }, /data\/quantity must be >= 1/],
    ['checkout', { orderId: 'o', total: 'ten' }, /data\/total must be number/],
    ['product_view', 'not an object', /data\/ must be object/],
  ])('sends an invalid %s to the DLQ with the reason', (type, data, reason) => {
    const r = step.run(event(type, data), ctx(1)) as StepResult;
    expect(r.kind).toBe('dlq');
    expect(r.kind === 'dlq' && r.reason).toMatch(reason);
  });

  it('passes or rejects unknown types as configured', () => {
    expect(step.run(event('custom', 1), ctx(1))).toMatchObject({ kind: 'ok' });
    const strict = validateStep({ schemas, unknownTypes: 'dlq' });
    expect(strict.run(event('custom', 1), ctx(1))).toMatchObject({
      kind: 'dlq',
      reason: expect.stringMatching(/no schema/),
    });
  });
});

describe('enrich step', () => {
  it('adds processing facts and the parsed user agent', () => {
    const ua =
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
    const r = enrichStep({ worker: 'w1', sources: { web: { team: 'growth' } } }).run(
      event('page_view', {}, 'v', ua),
      ctx(1),
    );
    if (r instanceof Promise || r.kind !== 'ok') throw new Error('expected ok');
    expect((r.event as Envelope & { enriched: unknown }).enriched).toMatchObject({
      worker: 'w1',
      userAgent: { browser: 'Chrome 120.0.0.0', os: 'Windows 10' },
      source: { team: 'growth' },
    });
  });

  it('survives garbage user agents', () => {
    for (const ua of ['', '\u0000\uffff', 'x'.repeat(100_000), '()()();;']) {
      const r = enrichStep({ worker: 'w1' }).run(event('t', {}, 'v', ua), ctx(1));
      expect(r).toMatchObject({ kind: 'ok' });
    }
  });
});

/** The documented model, computed by hand here (not with the code under test). */
function expectedScore(c: { pv: number; prod: number; cart: number; co: number }): number {
  const z =
    -3 +
    0.3 * Math.log(1 + c.pv) +
    0.8 * Math.log(1 + c.prod) +
    1.5 * Math.log(1 + c.cart) +
    0.5 * c.co;
  return Math.round((1 / (1 + Math.exp(-z))) * 10000) / 10000;
}

describe('score step (purchase propensity)', () => {
  const sequence: [string, unknown][] = [
    ['page_view', { path: '/' }],
    ['page_view', { path: '/shoes' }],
    ['product_view', { sku: 'S1' }],
    ['product_view', { sku: 'S2' }],
    ['product_view', { sku: 'S1' }],
    ['add_to_cart', { sku: 'S1', quantity: 1, price: 50 }],
  ];

  /** Runs the sequence at offsets 0.. and returns the step and its published records. */
  const runSequence = (): { step: ScoreStep; published: { key: string; value: unknown }[] } => {
    const step = new ScoreStep({ maxVisitorsPerPartition: 100 });
    const published: { key: string; value: unknown }[] = [];
    sequence.forEach(([type, data], i) => {
      const c = ctx(i);
      step.run(event(type, data), c);
      published.push(...c.side.map((s) => ({ key: s.key, value: s.value })));
    });
    return { step, published };
  };

  it('scores a known sequence to the documented value and publishes the full state', () => {
    const step = new ScoreStep({ maxVisitorsPerPartition: 100 });
    let last: (StepContext & { side: SideRecord[] }) | undefined;
    sequence.forEach(([type, data], i) => {
      last = ctx(i);
      step.run(event(type, data), last);
    });
    const record = last!.side[0]!.value as ScoreRecord;
    expect(last!.side[0]).toMatchObject({ output: 'scores', key: 'visitor-1' });
    expect(record.score).toBe(expectedScore({ pv: 2, prod: 3, cart: 1, co: 0 }));
    expect(record.counts).toEqual({ pageViews: 2, productViews: 3, carts: 1, checkouts: 0 });

    const after = ctx(10);
    step.run(event('checkout', { orderId: 'o', total: 50 }), after);
    expect((after.side[0]!.value as ScoreRecord).score).toBe(
      expectedScore({ pv: 0, prod: 0, cart: 0, co: 1 }),
    );
  });

  it('does not apply a replayed offset twice, and restores the same state from its records', () => {
    const { step, published } = runSequence();
    const before = step.get(0, 'visitor-1');
    step.run(event('add_to_cart', { sku: 'S1', quantity: 1, price: 50 }), ctx(5)); // replay of offset 5
    expect(step.get(0, 'visitor-1')).toEqual(before);

    const restored = new ScoreStep({ maxVisitorsPerPartition: 100 });
    restored.restore(0, published);
    expect(restored.get(0, 'visitor-1')).toEqual(before);
    const next = ctx(6);
    restored.run(event('page_view', { path: '/' }), next);
    expect((next.side[0]!.value as ScoreRecord).score).toBe(
      expectedScore({ pv: 3, prod: 3, cart: 1, co: 0 }),
    );
  });

  it('restores the record of the highest raw offset, whatever order they were published in', () => {
    const { step, published } = runSequence();
    const latest = step.get(0, 'visitor-1');
    // A previous owner's record resent late lands after the newer ones; and junk is skipped.
    const late = [
      ...published.slice(1),
      published[0]!,
      { key: 'visitor-1', value: { offset: 'x' } },
    ];
    const restored = new ScoreStep({ maxVisitorsPerPartition: 100 });
    restored.restore(0, late);
    expect(restored.get(0, 'visitor-1')).toEqual(latest);
  });

  it('keeps at most the configured number of visitors per partition', () => {
    const step = new ScoreStep({ maxVisitorsPerPartition: 5 });
    for (let i = 0; i < 50; i++) step.run(event('page_view', { path: '/' }, `v${i}`), ctx(i));
    expect(step.visitorCount(0)).toBe(5);
    expect(step.get(0, 'v49')).toBeDefined();
    expect(step.get(0, 'v0')).toBeUndefined();
  });

  it('always scores in [0, 1] for any sequence of events (property)', () => {
    const types = fc.constantFrom('page_view', 'product_view', 'add_to_cart', 'checkout', 'other');
    fc.assert(
      fc.property(fc.array(types, { maxLength: 300 }), (seq) => {
        const step = new ScoreStep({ maxVisitorsPerPartition: 10 });
        seq.forEach((type, i) => {
          const c = ctx(i);
          step.run(event(type, {}), c);
          for (const s of c.side) {
            const score = (s.value as ScoreRecord).score;
            if (!(Number.isFinite(score) && score >= 0 && score <= 1))
              throw new Error(`bad score ${score}`);
          }
        });
      }),
    );
  });
});

describe('createPipeline', () => {
  const deps = (steps: string[]) => ({
    logger: silentLogger(),
    instance: 'w1',
    config: { ...pipelineDefaults, steps },
  });

  it('builds the default steps and exposes the scorer', () => {
    const built = createPipeline(deps(pipelineDefaults.steps));
    expect(built.pipeline.stepNames).toEqual(['validate', 'enrich', 'score']);
    expect(built.scorer).not.toBeNull();
  });

  it('loads a user step from a module path', async () => {
    const built = createPipeline(deps(['./examples/steps/drop-bots-step.ts', 'pass-through']));
    expect(built.pipeline.stepNames).toEqual(['drop-bots', 'pass-through']);
    const outcome = await built.pipeline.run(event('page_view', {}, 'v', 'Googlebot/2.1'), ctx(1));
    expect(outcome).toMatchObject({ kind: 'drop', step: 'drop-bots' });
  });

  it('fails clearly on an unknown step or a bad module', () => {
    expect(() => createPipeline(deps(['validate', 'nope']))).toThrow(
      /unknown pipeline step "nope"/,
    );
    expect(() => createPipeline(deps(['./no/such/module.js']))).toThrow(/could not be loaded/);
  });
});
