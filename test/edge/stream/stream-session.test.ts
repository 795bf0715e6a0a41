/**
 * The stream protocol without a socket: acks only after the sink stored, cumulative over
 * refused events, resends skipped, gaps, Kafka failures and the source's quota close the
 * stream, and a full sink pauses reading instead of buffering.
 */
import { IntakeError } from '../../../lib/errors';
import { FleetQuotas } from '../../../lib/sources/quota';
import { StreamSession, streamDefaults } from '../../../services/edge/stream/stream-session';
import type { StreamMessage, StreamTransport } from '../../../services/edge/stream/stream-session';
import { bodyDefaults } from '../../../services/edge/ingest/body';
import { MemorySink, silentLogger } from '../../support/fakes';

class FakeTransport implements StreamTransport {
  readonly sent: StreamMessage[] = [];
  paused = false;
  closedWith: { code: number; reason: string } | null = null;
  send(m: StreamMessage): void {
    this.sent.push(m);
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
  }
  acks(): number[] {
    return this.sent.flatMap((m) => ('ack' in m && !('error' in m) ? [m.ack] : []));
  }
}

function session(
  sink = new MemorySink(),
  limits: Partial<typeof streamDefaults> = {},
  admit?: (events: number) => ReturnType<FleetQuotas['take']>,
) {
  const transport = new FakeTransport();
  const s = new StreamSession({
    sink,
    transport,
    source: 'test',
    meta: {},
    limits: { ...bodyDefaults, ...streamDefaults, ackIntervalMs: 1, ...limits },
    logger: silentLogger(),
    admit,
  });
  return { s, sink, transport };
}

const frame = (seq: number, type = 'view') =>
  JSON.stringify({ seq, event: { type, id: `e${seq}` } });

describe('StreamSession', () => {
  it('acknowledges cumulatively, only after the sink stored the events', async () => {
    const { s, sink, transport } = session();
    s.receive([frame(1), frame(2), frame(3)].join('\n'));
    s.receive(frame(4));
    await s.settled();
    expect(sink.stored.map((e) => e.id)).toEqual(['e1', 'e2', 'e3', 'e4']);
    expect(sink.stored.every((e) => e.pattern === 'stream' && e.source === 'test')).toBe(true);
    expect(transport.acks().at(-1)).toBe(4);
    expect(s.ack).toBe(4);
  });

  it('numbers bare events after the previous one and refuses invalid ones without closing', async () => {
    const { s, sink, transport } = session();
    s.receive('{"type":"a"}\nnot json\n{"type":"b","extra":1}\n{"type":"c"}');
    await s.settled();
    expect(sink.stored.map((e) => e.type)).toEqual(['a', 'c']);
    const errors = transport.sent.filter((m) => 'seq' in m);
    expect(errors.map((m) => (m as { seq: number }).seq)).toEqual([2, 3]);
    expect(transport.acks().at(-1)).toBe(4);
    expect(transport.closedWith).toBeNull();
  });

  it('skips a resend of what the stream already has, and starts anywhere (a resume)', async () => {
    const { s, sink } = session();
    s.receive([frame(41), frame(42)].join('\n'));
    s.receive([frame(41), frame(42), frame(43)].join('\n'));
    await s.settled();
    expect(sink.stored.map((e) => e.id)).toEqual(['e41', 'e42', 'e43']);
    expect(s.counts.resent).toBe(2);
  });

  it('closes on a sequence gap, saying what it expected', async () => {
    const { s, transport } = session();
    s.receive([frame(1), frame(3)].join('\n'));
    await s.settled();
    expect(transport.sent).toContainEqual({ error: 'sequence-gap', expected: 2, got: 3 });
    expect(transport.closedWith?.code).toBe(1008);
  });

  it('refuses a frame whose seq is not a positive integer', async () => {
    const { s, transport } = session();
    s.receive('{"seq":-1,"event":{"type":"x"}}');
    await s.settled();
    expect(transport.sent[0]).toMatchObject({ seq: 1, error: '"seq" must be a positive integer' });
  });

  it('never acks what Kafka did not store: reports unavailable with the last ack and closes', async () => {
    const { s, sink, transport } = session();
    s.receive(frame(1));
    await s.settled();
    sink.failWith = new IntakeError('KAFKA_UNAVAILABLE', 'down', { retryAfterSeconds: 3 });
    s.receive(frame(2));
    await s.settled();
    expect(transport.sent).toContainEqual(
      expect.objectContaining({ error: 'unavailable', retryAfter: 3, ack: 1 }),
    );
    expect(transport.closedWith?.code).toBe(1013);
    expect(transport.acks()).not.toContain(2);
  });

  it("refuses a message over the source's quota as it refuses overload: nothing of it written", async () => {
    const quotas = new FleetQuotas({ edge: 'e', quotasOf: () => ({ perDay: 3, perDayGrace: 0 }) });
    const { s, sink, transport } = session(new MemorySink(), {}, (n) => quotas.take('test', n));
    s.receive([frame(1), frame(2)].join('\n'));
    await s.settled();
    s.receive([frame(3), frame(4)].join('\n'));
    await s.settled();
    expect(sink.stored.map((e) => e.id)).toEqual(['e1', 'e2']);
    const refusal = transport.sent.find((m) => 'error' in m && m.error === 'quota-exceeded');
    expect(refusal).toMatchObject({ source: 'test', quota: 'per-day', limit: 3, ack: 2 });
    expect((refusal as { retryAfter: number }).retryAfter).toBeGreaterThan(0);
    expect(transport.closedWith?.code).toBe(1013);
    expect(transport.acks()).not.toContain(4);
  });

  it('pauses the transport while the sink has no room, and resumes when it has', async () => {
    const { s, sink, transport } = session();
    sink.full = true;
    s.receive(frame(1));
    expect(transport.paused).toBe(true);
    expect(sink.stored).toHaveLength(0);
    sink.full = false;
    await s.settled();
    expect(transport.paused).toBe(false);
    expect(sink.stored).toHaveLength(1);
  });

  it('pauses while maxPendingEvents wait for the sink', async () => {
    const sink = new MemorySink();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const store = sink.store.bind(sink);
    sink.store = async (envelopes) => {
      await gate;
      return store(envelopes);
    };
    const { s, transport } = session(sink, { maxPendingEvents: 2 });
    s.receive([frame(1), frame(2)].join('\n'));
    s.receive(frame(3));
    expect(transport.paused).toBe(true);
    release();
    await s.settled();
    expect(transport.paused).toBe(false);
    expect(s.ack).toBe(3);
  });
});
