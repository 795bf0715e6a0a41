/**
 * Which commit errors mean the group moved on without this worker (the chunk's entries
 * are still sent from the log, and the error is not a crash): the port's
 * `KAFKA_NOT_MEMBER`, directly or wrapped (each adapter maps its client's errors to it:
 * test/lib/kafka/<client>/errors.test.ts).
 */
import { IntakeError } from '../../../../lib/errors';
import { lostMembership } from '../../../../services/worker/delivery/sbml/sbml-delivery';

describe('lostMembership', () => {
  it('recognises a member the group moved on without, directly or as the cause of a wrapped error', () => {
    expect(lostMembership(new IntakeError('KAFKA_NOT_MEMBER', 'x'))).toBe(true);
    expect(
      lostMembership(
        new Error('retries exhausted', { cause: new IntakeError('KAFKA_NOT_MEMBER', 'x') }),
      ),
    ).toBe(true);
  });

  it('tells other failures apart (retried when retriable, else thrown: hand-off.test.ts)', () => {
    expect(lostMembership(new IntakeError('KAFKA_UNAVAILABLE', 'connect ECONNREFUSED'))).toBe(
      false,
    );
    expect(lostMembership(new Error('Connection error: connect ECONNREFUSED'))).toBe(false);
    expect(lostMembership(undefined)).toBe(false);
  });
});
