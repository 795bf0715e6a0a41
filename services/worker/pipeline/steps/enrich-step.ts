/**
 * Adds server-side facts to an event under `enriched`: when and by which worker it was
 * processed, the edge-to-worker latency, the parsed user agent (ua-parser-js: browser,
 * OS, device) and the source's metadata from configuration. Never rejects an event:
 * garbage user agents parse to empty fields.
 */
import { UAParser } from 'ua-parser-js';
import { ok } from '../../../../lib/pipeline';
import type { Step } from '../../../../lib/pipeline';

export interface Enriched {
  processedAt: string;
  worker: string;
  latencyMs: number | null;
  userAgent: { browser: string | null; os: string | null; device: string | null } | null;
  source: Record<string, string>;
}

const join = (...parts: (string | undefined)[]): string | null =>
  parts.filter(Boolean).join(' ') || null;

export function enrichStep(deps: {
  worker: string;
  sources?: Record<string, Record<string, string>>;
}): Step {
  return {
    name: 'enrich',
    run(event) {
      const now = new Date();
      const received = Date.parse(event.receivedAt);
      const ua =
        typeof event.meta?.userAgent === 'string'
          ? new UAParser(event.meta.userAgent.slice(0, 1024)).getResult()
          : null;
      const enriched: Enriched = {
        processedAt: now.toISOString(),
        worker: deps.worker,
        latencyMs: Number.isFinite(received) ? now.getTime() - received : null,
        userAgent: ua
          ? {
              browser: join(ua.browser.name, ua.browser.version),
              os: join(ua.os.name, ua.os.version),
              device: join(ua.device.vendor, ua.device.model, ua.device.type),
            }
          : null,
        source: deps.sources?.[event.source] ?? {},
      };
      return ok({ ...event, enriched } as typeof event);
    },
  };
}
