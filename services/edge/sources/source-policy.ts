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
    let kept = items;
    if (privacy) {
      const forgotten = (key: string): boolean => this.deps.forgotten(source, key);
      kept = [];
      for (const item of items) {
        const result = privacy.event(item.envelope, forgotten);
        if (result.kind === 'ok')
          kept.push(result.event === item.envelope ? item : { ...item, envelope: result.event });
      }
    }
    const suppressed = items.length - kept.length;
    if (suppressed > 0) this.deps.events.inc({ source, outcome: 'suppressed' }, suppressed);
    if (kept.length > 0) this.deps.events.inc({ source, outcome: 'accepted' }, kept.length);
    return kept;
  }
}
