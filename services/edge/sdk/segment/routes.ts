/**
 * Segment's HTTP Tracking API on the edge, so `analytics.js` (`@segment/analytics-next`),
 * `analytics-node` and the SDKs that speak Segment's API need only their host changed:
 *
 * - `POST /v1/batch` (and `/v1/b`, analytics.js's batching path): `{ batch: [...] }`;
 *   `POST /v1/track|identify|page|screen|group|alias` (and analytics.js's short paths
 *   `/v1/t|i|p|s|g|a`): one message. Top-level `context` and `integrations` of a batch
 *   apply to its messages that have none, as Segment documents.
 * - The write key is an Intake API key: `Authorization: Basic base64(writeKey:)`, else
 *   `writeKey` in the body (browsers send `text/plain` bodies); `Bearer` and `X-API-Key`
 *   work as everywhere. Missing: 401; unknown: 403; the key's rate limit: 429 with
 *   `Retry-After`.
 * - `200 {"success": true}` only after Kafka acknowledged every message (acks=all).
 *   Limits as Segment's: a message over 32 KB or a request over 500 KB is a 400 for the
 *   whole request (the SDKs do not retry a 400). A malformed message (not an object, no
 *   `userId`/`anonymousId`, a track without `event`, a bad `timestamp`) does not hold
 *   the others back: they are stored and the answer is still `200`, but with
 *   `"success": false` and `rejected: [{ index, messageId, reason }]` (Segment drops such
 *   messages silently); when no message is valid, 400 listing them.
 * - `GET /v1/projects/:writeKey/settings`: the settings analytics.js loads from its
 *   `cdnURL`, its `Segment.io` integration pointed at the host the page asked (through
 *   the balancer: `X-Forwarded-Host` / `-Proto`), so a page needs only `cdnURL` and
 *   `writeKey`.
 *
 * Mapping into the envelope: mapping.ts.
 */
import type { Request, RequestHandler, Response } from 'express';
import { sendProblem } from '../../http/send-problem';
import type { KeyChecker } from '../../http/auth';
import { SDK_BODY, readJsonObject } from '../json-body';
import { isObject, storeMapped } from '../store-mapped';
import type { SdkDeps } from '../store-mapped';
import type { SdkRoute } from '../sdk-route';
import { MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, SEGMENT_CALLS, mapSegmentMessage } from './mapping';
import type { SegmentCall } from './mapping';

const TOO_LARGE = `The request is larger than 500 KB, Segment's limit per batch; send smaller batches.`;

export function segmentRoutes(deps: SdkDeps, checkKey: KeyChecker | undefined): SdkRoute[] {
  const body = readJsonObject(MAX_BATCH_BYTES, TOO_LARGE);
  const before = [...body, writeKeyFromRequest];
  const routes: SdkRoute[] = [];
  for (const path of ['/v1/batch', '/v1/b'])
    routes.push({ method: 'post', path, before, handler: handle(deps) });
  for (const call of SEGMENT_CALLS) {
    for (const path of [`/v1/${call}`, `/v1/${call[0]!}`])
      routes.push({ method: 'post', path, before, handler: handle(deps, call) });
  }
  routes.push({
    method: 'get',
    path: '/v1/projects/:writeKey/settings',
    before: [settingsRoute(checkKey)],
  });
  return routes;
}

/**
 * Gives the key checker the write key as `X-API-Key`: from `Authorization: Basic`
 * (base64 of `writeKey:`), else from the body's `writeKey`. A `Bearer` or `X-API-Key`
 * the client sent wins.
 */
const writeKeyFromRequest: RequestHandler = (req, res, next) => {
  const authorization = req.get('authorization');
  if (!req.get('x-api-key') && !/^bearer /i.test(authorization ?? '')) {
    const fromBody = (res.locals[SDK_BODY] as Record<string, unknown>).writeKey;
    const key =
      basicUser(authorization) ?? (typeof fromBody === 'string' && fromBody ? fromBody : undefined);
    if (key !== undefined) req.headers['x-api-key'] = key;
  }
  next();
};

/** The user of `Basic base64(user:password)` (Segment's write key), else undefined. */
export function basicUser(authorization: string | undefined): string | undefined {
  if (!authorization || !/^basic /i.test(authorization)) return undefined;
  const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? decoded : decoded.slice(0, colon);
  return user || undefined;
}

function handle(deps: SdkDeps, call?: SegmentCall): RequestHandler {
  return async (req: Request, res: Response): Promise<void> => {
    const body = res.locals[SDK_BODY] as Record<string, unknown>;
    const messages = call ? [body] : batchOf(body);
    if (typeof messages === 'string') {
      sendProblem(res, 'bad-request', messages);
      return;
    }
    if (messages.length > deps.maxEventsPerRequest) {
      sendProblem(
        res,
        'bad-request',
        `At most ${deps.maxEventsPerRequest} messages per batch; split the batch.`,
      );
      return;
    }
    const large = messages.findIndex(
      (m) => Buffer.byteLength(JSON.stringify(m) ?? '') > MAX_MESSAGE_BYTES,
    );
    if (large >= 0) {
      sendProblem(
        res,
        'bad-request',
        `Message ${large} is larger than 32 KB, Segment's limit per message; nothing was accepted.`,
        { index: large },
      );
      return;
    }
    const source = typeof res.locals.source === 'string' ? res.locals.source : deps.defaultSource;
    const stored = await storeMapped(
      deps,
      req,
      res,
      messages.map((m) => mapSegmentMessage(m, call)),
      { source },
    );
    if (!stored) return;
    const rejected = stored.rejected.map((r) => ({
      index: r.index,
      messageId: messageIdOf(messages[r.index]),
      reason: r.reason,
    }));
    if (stored.accepted === 0) {
      sendProblem(res, 'bad-request', 'No message is valid; fix those listed in "rejected".', {
        rejected,
      });
      return;
    }
    res
      .status(200)
      .json(
        rejected.length === 0
          ? { success: true }
          : { success: false, accepted: stored.accepted, rejected },
      );
  };
}

/** The messages of a batch body, with the batch's `context` / `integrations`; or a problem. */
function batchOf(body: Record<string, unknown>): unknown[] | string {
  const { batch } = body;
  if (!Array.isArray(batch) || batch.length === 0)
    return 'A batch body is `{"batch": [messages]}` with at least one message.';
  const shared: Record<string, unknown> = {};
  for (const field of ['context', 'integrations'] as const)
    if (isObject(body[field])) shared[field] = body[field];
  if (Object.keys(shared).length === 0) return batch as unknown[];
  return batch.map((m: unknown) => (isObject(m) ? { ...shared, ...m } : m));
}

function messageIdOf(message: unknown): string | undefined {
  return isObject(message) && typeof message.messageId === 'string'
    ? message.messageId.slice(0, 128)
    : undefined;
}

/**
 * The settings document analytics.js loads (`${cdnURL}/v1/projects/${writeKey}/settings`):
 * only the `Segment.io` integration, sending to this host; no device-mode destinations,
 * no tracking plan, no metrics. An unknown write key: 403.
 */
function settingsRoute(checkKey: KeyChecker | undefined): RequestHandler {
  return (req, res) => {
    const writeKey = req.params.writeKey as string;
    if (checkKey) {
      const checked = checkKey({ apiKey: writeKey, ip: req.ip, origin: req.get('origin') });
      if (!checked.ok) {
        sendProblem(res, checked.problem, checked.detail, {}, checked.retryAfterSeconds);
        return;
      }
    }
    res.setHeader('Cache-Control', 'public, max-age=60');
    res.json(settingsDocument(writeKey, req.host, req.protocol));
  };
}

export function settingsDocument(
  writeKey: string,
  host: string,
  protocol: string,
): Record<string, unknown> {
  return {
    integrations: {
      'Segment.io': {
        apiKey: writeKey,
        apiHost: `${host}/v1`,
        protocol,
        unbundledIntegrations: [],
        addBundledMetadata: true,
        maybeBundledConfigIds: {},
      },
    },
    plan: { track: { __default: { enabled: true, integrations: {} } } },
    edgeFunction: {},
    analyticsNextEnabled: true,
    middlewareSettings: {},
    enabledMiddleware: {},
    metrics: { sampleRate: 0 },
    legacyVideoPluginsEnabled: false,
    remotePlugins: [],
  };
}
