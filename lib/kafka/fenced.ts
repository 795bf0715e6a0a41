/**
 * True for the errors of a transactional producer that another one with the same id took
 * over: fenced (an old epoch), or still CONCURRENT_TRANSACTIONS after kafkajs' retries,
 * which is what a write gets while the broker aborts its transaction for the newcomer
 * (a lone writer serializes its transactions, so it never sees that error to the end).
 * Looks through wrapped errors (`cause`).
 */
export function isFenced(err: unknown): boolean {
  for (let e = err as { type?: string; message?: string; cause?: unknown } | undefined; e;) {
    if (
      e.type === 'INVALID_PRODUCER_EPOCH' ||
      e.type === 'PRODUCER_FENCED' ||
      e.type === 'CONCURRENT_TRANSACTIONS' ||
      /fenced|epoch|concurrent operation on the same transaction/i.test(e.message ?? '')
    )
      return true;
    e = e.cause as typeof e;
  }
  return false;
}
