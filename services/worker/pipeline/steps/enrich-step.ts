/**
 * Adds server-side facts to an event under `enriched`: when and by which worker it was
 * processed, the edge-to-worker latency, the parsed user agent (ua-parser-js: browser,
 * OS, device) and the source's metadata from configuration. Never rejects an event:
 * garbage user agents parse to empty fields. Parsed user agents are cached (a bounded map,
 * oldest out first): a fleet sees few distinct ones, and parsing is the step's main cost.
 */
import { UAParser } from 'ua-parser-js';
import { isoTime } from '../../../../lib/clock';
import { ok } from '../../../../lib/pipeline';
import type { Step } from '../../../../lib/pipeline';
import type { Enriched } from '../../../../lib/records/processed';

const join = (...parts: (string | undefined)[]): string | null =>
  parts.filter(Boolean).join(' ') || null;

const USER_AGENT_CACHE = 1000;

function parseUserAgent(userAgent: string): NonNullable<Enriched['userAgent']> {
  const ua = new UAParser(userAgent.slice(0, 1024)).getResult();
  return {
    browser: join(ua.browser.name, ua.browser.version),
    os: join(ua.os.name, ua.os.version),
    device: join(ua.device.vendor, ua.device.model, ua.device.type),
  };
}

export function enrichStep(deps: {
  worker: string;
  sources?: Record<string, Record<string, string>>;
}): Step {
  const userAgents = new Map<string, NonNullable<Enriched['userAgent']>>();
  const userAgentOf = (userAgent: string): NonNullable<Enriched['userAgent']> => {
    let parsed = userAgents.get(userAgent);
    if (!parsed) {
      parsed = parseUserAgent(userAgent);
      if (userAgents.size >= USER_AGENT_CACHE) userAgents.delete(userAgents.keys().next().value!);
      userAgents.set(userAgent, parsed);
    }
    return { ...parsed };
  };
  return {
    name: 'enrich',
    adds: ['enriched'],
    run(event) {
      const now = Date.now();
      const received = Date.parse(event.receivedAt);
      const enriched: Enriched = {
        processedAt: isoTime(now),
        worker: deps.worker,
        latencyMs: Number.isFinite(received) ? now - received : null,
        userAgent:
          typeof event.meta?.userAgent === 'string' ? userAgentOf(event.meta.userAgent) : null,
        source: deps.sources?.[event.source] ?? {},
      };
      event.enriched = enriched;
      return ok(event);
    },
  };
}
