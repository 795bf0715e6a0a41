import { dlq, ok } from '../../../lib/pipeline';
import type { Step, StepContext, StepResult } from '../../../lib/pipeline';
import type { Envelope } from '../../../lib/envelope';
import { Pipeline } from '../../../services/worker/pipeline/pipeline';

const event = { id: 'e1', type: 't', key: 'k' } as Envelope;
const ctx: StepContext = { topic: 'raw', partition: 0, offset: '0', emit: () => undefined };
const mark = (name: string): Step => ({
  name,
  run: (e) => ok({ ...e, data: `${String(e.data)}/${name}` }),
});

describe('Pipeline', () => {
  it('runs synchronous steps without a promise, in order', () => {
    const out = new Pipeline([mark('a'), mark('b')]).run({ ...event, data: '' }, ctx);
    expect(out).toEqual({ kind: 'ok', event: { ...event, data: '/a/b' } });
  });

  it('waits for any thenable a step returns (a user step need not return a native Promise)', async () => {
    const thenable: Step = {
      name: 'async',
      run: (e) =>
        ({
          then: (resolve: (r: StepResult) => void) =>
            resolve(ok({ ...e, data: `${String(e.data)}/t` })),
        }) as unknown as Promise<StepResult>,
    };
    const out = new Pipeline([mark('a'), thenable, mark('b')]).run({ ...event, data: '' }, ctx);
    expect(out).toBeInstanceOf(Promise);
    expect(await out).toEqual({ kind: 'ok', event: { ...event, data: '/a/t/b' } });
  });

  it('stops at the first step that does not return ok, and names it', async () => {
    const reject: Step = { name: 'check', run: () => Promise.resolve(dlq('bad')) };
    const out = await new Pipeline([mark('a'), reject, mark('b')]).run(event, ctx);
    expect(out).toEqual({ kind: 'dlq', reason: 'bad', step: 'check' });
  });

  it('knows the fields its steps add when every step declares them, in step order, and not otherwise', () => {
    const adding = (name: string, adds: string[]): Step => ({ ...mark(name), adds });
    expect(
      new Pipeline([adding('a', []), adding('b', ['x', 'y']), adding('c', ['y', 'z'])]).adds,
    ).toEqual(['x', 'y', 'z']);
    expect(new Pipeline([adding('a', ['x']), mark('user')]).adds).toBeNull();
    expect(new Pipeline([]).adds).toEqual([]);
  });
});
