/**
 * Which commit errors mean the group moved on without this worker (the chunk's entries
 * are still sent from the log, and the error is not a crash).
 */
import { lostMembership } from '../../../services/worker/consumer/raw-consumer';

describe('lostMembership', () => {
  it('recognises a fenced member, directly or as the cause of a wrapped error', () => {
    expect(lostMembership({ type: 'UNKNOWN_MEMBER_ID', message: 'x' })).toBe(true);
    expect(lostMembership({ type: 'ILLEGAL_GENERATION' })).toBe(true);
    expect(
      lostMembership({
        name: 'KafkaJSNonRetriableError',
        message: 'The coordinator is not aware of this member',
      }),
    ).toBe(true);
    expect(
      lostMembership({ message: 'retries exhausted', cause: { type: 'REBALANCE_IN_PROGRESS' } }),
    ).toBe(true);
  });

  it('leaves other failures to crash and restart the consumer', () => {
    expect(lostMembership(new Error('Connection error: connect ECONNREFUSED'))).toBe(false);
    expect(lostMembership({ type: 'NOT_COORDINATOR' })).toBe(false);
    expect(lostMembership(undefined)).toBe(false);
  });
});
