/**
 * What the edge applies per source to the events of a request, after their key was
 * checked (http/auth.ts) and before anything is written: the source's quotas across the
 * fleet (lib/sources/quota.ts), then its privacy policy (lib/sources/privacy.ts: request
 * metadata, suppressed and forgotten keys, redactions). Counted per source:
 * `intake_edge_source_events_total{source, outcome}`, outcome `accepted`, `limited` or
 * `suppressed`.
 *
 * A request is checked against the quotas with all its valid events, suppressed ones
 * included (they are the source's traffic); a refused request writes nothing. An event
 * of a suppressed or forgotten key is accepted and dropped: the request is answered as
 * usual (202), and the event is left out of the answer's `accepted` list.
 *
 * `POST /v1/events` applies all of it (`request`, `admit`, `apply`). Every other
 * transport (streams, the SDK routes, one-way and UDP) writes through `PolicySink`
 * (policy-sink.ts), which applies `write` to each envelope it did not see here: the IP
 * and user-agent policy, suppression and redaction, without quotas or opt-out signals.
 */
import type { Envelope, RequestMeta } from '../../../lib/envelope';
import type { QuotaDecision } from '../../../lib/sources/quota';
import type { FleetQuotas } from '../../../lib/sources/quota';
import { optOutSignals } from '../../../lib/sources/privacy';
import type { Privacy } from '../../../lib/sources/privacy';
import type { Counter } from 'prom-client';

export type SourceOutcome = 'accepted' | 'limited' | 'suppressed';

type Headers = Record<string, string | string[] | undefined>;

export interface SourcePolicyDeps {
  quotas: FleetQuotas;
  privacy: (source: string) => Privacy | undefined;
  forgotten: (source: string, key: string) => boolean;
  events: Counter<'source' | 'outcome'>;
}

export class SourcePolicy {
  /**
   * The request metadata of the envelopes `apply` passed: the sink leaves an envelope
   * with such a meta object as it is. One entry per request, not per event: `request`
   * gives each request a meta object of its own, which every event of that request, and
   * no other, carries.
   */
  private readonly applied = new WeakSet<RequestMeta>();

  constructor(private readonly deps: SourcePolicyDeps) {}

  /** The request's metadata under the source's policy; `anonymous`: no visitor cookie. */
  request(
    source: string,
    meta: RequestMeta,
    headers: Headers,
  ): { meta: RequestMeta; anonymous: boolean } {
    const privacy = this.deps.privacy(source);
    return privacy ? privacy.request(meta, optOutSignals(headers)) : { meta, anonymous: false };
  }

  /**
   * A refusal before the body is read, while one more event of the source would be
   * refused (its bucket empty, its day used up); the request counts as one `limited` event.
   */
  precheck(source: string): QuotaDecision {
    const decision = this.deps.quotas.peek(source);
    if (!decision.ok) this.deps.events.inc({ source, outcome: 'limited' });
    return decision;
  }

  /** Takes `events` events from the source's quotas (counting a refusal). */
  admit(source: string, events: number): QuotaDecision {
    const decision = this.deps.quotas.take(source, events);
    if (!decision.ok) this.deps.events.inc({ source, outcome: 'limited' }, events);
    return decision;
  }

  /**
   * The items to write (each envelope as the policy changes it), without the suppressed
   * ones; counts both.
   */
  apply<T extends { envelope: Envelope }>(source: string, items: T[]): T[] {
    const privacy = this.deps.privacy(source);
    const forgotten = (key: string): boolean => this.deps.forgotten(source, key);
    const kept: T[] = [];
    let meta: RequestMeta | undefined;
    for (const item of items) {
      const result = privacy ? privacy.event(item.envelope, forgotten) : undefined;
      if (result && result.kind !== 'ok') continue;
      const envelope = result ? result.event : item.envelope;
      if (envelope.meta !== meta) this.applied.add((meta = envelope.meta));
      kept.push(envelope === item.envelope ? item : { ...item, envelope });
    }
    const suppressed = items.length - kept.length;
    if (suppressed > 0) this.deps.events.inc({ source, outcome: 'suppressed' }, suppressed);
    if (kept.length > 0) this.deps.events.inc({ source, outcome: 'accepted' }, kept.length);
    return kept;
  }

  /**
   * An envelope of another transport under its source's policy (IP, user agent,
   * redaction), or null when its key is suppressed or forgotten (counted); an envelope
   * `apply` passed is returned as it is.
   */
  write(envelope: Envelope): Envelope | null {
    if (this.applied.has(envelope.meta)) return envelope;
    const { source } = envelope;
    const privacy = this.deps.privacy(source);
    if (!privacy) {
      this.deps.events.inc({ source, outcome: 'accepted' });
      return envelope;
    }
    const result = privacy.event(envelope, (key) => this.deps.forgotten(source, key));
    if (result.kind !== 'ok') {
      this.deps.events.inc({ source, outcome: 'suppressed' });
      return null;
    }
    this.deps.events.inc({ source, outcome: 'accepted' });
    const { meta } = privacy.request(result.event.meta, NO_SIGNALS);
    return meta === result.event.meta ? result.event : { ...result.event, meta };
  }
}

const NO_SIGNALS = { gpc: false, dnt: false };
