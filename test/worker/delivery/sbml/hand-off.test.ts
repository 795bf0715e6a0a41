/**
 * SBML's hand-off when committing the input fails: a retriable failure (the coordinator
 * moving, a broker restarting) is retried without processing the chunk again, so its
 * records are sent once; a lost membership or a revoked partition abandons the chunk with
 * its records sent; any other failure is thrown, its records sent all the same.
 */
import { IntakeError } from '../../../../lib/errors';
import type { HandOffContext } from '../../../../services/worker/delivery/delivery';
import { SbmlDelivery } from '../../../../services/worker/delivery/sbml/sbml-delivery';
import type { OutboundSender } from '../../../../services/worker/delivery/sbml/sender';
import { DeliveryProgress } from '../../../../services/worker/outbound/progress';
import type { OutboundRecord } from '../../../../services/worker/outbound/record';
import { MemoryOutboundLog, outboundRecord, silentLogger } from '../../../support/fakes';

/** A context whose commit fails with `failures`, in turn, then succeeds; retries as the consumer does, at most `maxRuns` runs. */
function context(failures: Error[], maxRuns = 10) {
  const commits: string[] = [];
  const ctx: HandOffContext = {
    async retrying(work) {
      for (let run = 0; run < maxRuns; run++) {
        try {
          await work();
          return true;
        } catch (err) {
          if (!(err instanceof IntakeError && err.retriable)) throw err;
        }
      }
      return false; // revoked while retrying
    },
    commitInput(next) {
      commits.push(next);
      const failure = failures.shift();
      return failure ? Promise.reject(failure) : Promise.resolve();
    },
  };
  return { ctx, commits };
}

function delivery() {
  const dispatched: OutboundRecord[][] = [];
  const sender = {
    dispatch: (records: readonly OutboundRecord[]) => dispatched.push([...records]),
  } as unknown as OutboundSender;
  const log = new MemoryOutboundLog();
  const d = new SbmlDelivery({
    sender,
    log,
    progress: new DeliveryProgress(),
    logger: silentLogger(),
  });
  return { d, log, dispatched };
}

const chunk = () => ({
  topic: 'raw',
  partition: 0,
  first: '10',
  last: '11',
  records: [outboundRecord(10), outboundRecord(11)],
});

describe('SbmlDelivery.handOff when the commit fails', () => {
  it('retries a retriable commit failure: the chunk is handed off once, its records sent once', async () => {
    const { d, log, dispatched } = delivery();
    const unavailable = () => new IntakeError('KAFKA_UNAVAILABLE', 'commit failed 6 times');
    const { ctx, commits } = context([unavailable(), unavailable()]);
    await expect(d.handOff(chunk(), ctx)).resolves.toBe(true);
    expect(commits).toEqual(['12', '12', '12']);
    expect(log.appends).toBe(2);
    expect(dispatched).toHaveLength(1);
    expect(dispatched[0]!.map((r) => r.id)).toEqual(['id-10', 'id-11']);
  });

  it('abandons the chunk when the group moved on, its records sent', async () => {
    const { d, dispatched } = delivery();
    const { ctx, commits } = context([new IntakeError('KAFKA_NOT_MEMBER', 'UNKNOWN_MEMBER_ID')]);
    await expect(d.handOff(chunk(), ctx)).resolves.toBe(false);
    expect(commits).toHaveLength(1);
    expect(dispatched).toHaveLength(1);
  });

  it('abandons the chunk when it was revoked while the commit was retried, its records sent', async () => {
    const { d, dispatched } = delivery();
    const failures = Array.from({ length: 5 }, () => new IntakeError('KAFKA_UNAVAILABLE', 'x'));
    const { ctx } = context(failures, 3);
    await expect(d.handOff(chunk(), ctx)).resolves.toBe(false);
    expect(dispatched).toHaveLength(1);
  });

  it('throws a failure no retry can fix, its records sent', async () => {
    const { d, dispatched } = delivery();
    const { ctx } = context([new IntakeError('KAFKA_REJECTED', 'INVALID_RECORD')]);
    await expect(d.handOff(chunk(), ctx)).rejects.toThrow('INVALID_RECORD');
    expect(dispatched).toHaveLength(1);
  });
});
