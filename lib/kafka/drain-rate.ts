/**
 * How long a backlog of bytes waiting for Kafka takes to drain, from the bytes Kafka
 * acknowledged over the last `windowMs` (10 s): the `Retry-After` of every overload
 * answer of the ingest routes. Between 1 and 60 seconds; 5 when nothing was acknowledged
 * in the window (no measure yet, or Kafka stalled).
 */
export const DRAIN_WINDOW_MS = 10_000;

export class DrainRate {
  private readonly acked: { at: number; bytes: number }[] = [];

  constructor(private readonly windowMs = DRAIN_WINDOW_MS) {}

  /** Kafka acknowledged `bytes` at `at`. */
  record(bytes: number, at = Date.now()): void {
    this.acked.push({ at, bytes });
  }

  /** Seconds until `backlogBytes` should have drained at the measured rate. */
  retryAfterSeconds(backlogBytes: number, now = Date.now()): number {
    while (this.acked.length > 0 && this.acked[0]!.at < now - this.windowMs) this.acked.shift();
    const bytesPerSecond = this.acked.reduce((sum, a) => sum + a.bytes, 0) / (this.windowMs / 1000);
    if (bytesPerSecond <= 0) return 5;
    return Math.min(60, Math.max(1, Math.ceil(backlogBytes / bytesPerSecond)));
  }
}
