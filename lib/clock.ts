/**
 * ISO 8601 texts of times, made once per millisecond: the events of one request, or of one
 * worker chunk, mostly share their millisecond, and `toISOString()` is a per-event cost.
 */
let lastTime = NaN;
let lastIso = '';

/** The ISO text of `at` (throws for an invalid date, as `toISOString()` does). */
export function isoTime(at: Date | number): string {
  const t = typeof at === 'number' ? at : at.getTime();
  if (t !== lastTime) {
    lastIso = new Date(t).toISOString();
    lastTime = t;
  }
  return lastIso;
}

/** The ISO text of now. */
export const isoNow = (): string => isoTime(Date.now());
