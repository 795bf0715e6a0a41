/**
 * Snowplow's tracker protocol on the edge, so Snowplow's trackers need only their
 * collector endpoint changed:
 *
 * - `POST /com.snowplowanalytics.snowplow/tp2`: a payload_data self-describing JSON
 *   (a batch of events); `GET /i`: one event in the query (the pixel: answered with a
 *   1x1 GIF, for e-mails and pages without JavaScript).
 * - CORS as Snowplow's collector does it: `Access-Control-Allow-Origin` echoes the
 *   request's `Origin`, with `Access-Control-Allow-Credentials: true` (the browser
 *   tracker sends its cookies); preflights answered.
 * - Auth: a server tracker sends an Intake API key (`X-API-Key` or `Bearer`, through the
 *   tracker's `customHeaders`): unknown 403, rate limit 429 with `Retry-After`. Without a
 *   key (browser trackers, the pixel), each event's app id (`aid`) must be registered to
 *   a source (`INTAKE_BROWSER_APP_IDS`, `appId=source`); those are rate-limited per app
 *   id with the source's limit. An event of an unregistered app id is rejected; when
 *   none is left: 401 (no app id) or 403. A key's or app id's source that lists
 *   `origins`, and a page of another origin: 403 `origin-not-allowed` (http/origins.ts).
 * - The network user id: the `sp` cookie (made when absent, one year), the key of events
 *   without `uid` / `duid`. `SP-Anonymous: *` (the tracker's server anonymisation): no
 *   cookie read or set, no client address recorded.
 * - `200` only after Kafka acknowledged every accepted event (acks=all): the POST
 *   answers `{"accepted": n, "rejected": [{index, reason}]}`; events that cannot be
 *   mapped (bad base64 or JSON in `ue_px` / `cx`, no `e`) are listed and the others
 *   stored; when none can be, 400.
 *
 * Mapping into the envelope: mapping.ts.
 */
import { randomUUID } from 'node:crypto';
import cors from 'cors';
import type { Request, RequestHandler, Response } from 'express';
import { sendProblem } from '../../http/send-problem';
import type { KeyChecker } from '../../http/auth';
import { SDK_BODY, readJsonObject } from '../json-body';
import type { Mapped, SdkDeps } from '../store-mapped';
import { storeMapped } from '../store-mapped';
import type { SdkRoute } from '../sdk-route';
import { mapSnowplowPayload, payloadEvents } from './mapping';

export const TP2_PATH = '/com.snowplowanalytics.snowplow/tp2';
export const PIXEL_PATH = '/i';
export const SNOWPLOW_PATHS = [TP2_PATH, PIXEL_PATH];

export interface SnowplowDeps extends SdkDeps {
  maxBodyBytes: number;
  /** Checks an `X-API-Key` / `Bearer` key (absent: an open edge). */
  checkKey?: KeyChecker;
  /** app id -> source, for events sent without a key. */
  browserAppIds: ReadonlyMap<string, string>;
  /**
   * Checks an app id as a key (its source, its rate limit); absent: the app ids are not
   * checked (an edge without required keys), an unregistered one is the default source.
   */
  checkAppId?: KeyChecker;
}

const NETWORK_USER_COOKIE = 'sp';
const COOKIE = /(?:^|;\s*)sp=([0-9A-Za-z-]{1,64})(?:;|$)/;
const ONE_YEAR_MS = 365 * 24 * 3600 * 1000;
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** The collector's CORS: the request's origin echoed, with credentials. */
export function snowplowCors(): RequestHandler {
  return cors({ origin: true, credentials: true, maxAge: 3600, methods: ['GET', 'POST'] });
}

export function snowplowRoutes(deps: SnowplowDeps): SdkRoute[] {
  return [
    {
      method: 'post',
      path: TP2_PATH,
      before: [
        ...readJsonObject(
          deps.maxBodyBytes,
          `The body is larger than ${deps.maxBodyBytes} bytes; send smaller batches.`,
        ),
        collect(deps, (_req, res) =>
          payloadEvents(res.locals[SDK_BODY] as Record<string, unknown>),
        ),
      ],
    },
    { method: 'get', path: PIXEL_PATH, before: [collect(deps, (req) => [queryPayload(req)])] },
  ];
}

/** The pixel's query as one payload: the first value of each parameter. */
function queryPayload(req: Request): Record<string, string> {
  const payload: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.query)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string') payload[name] = first;
  }
  return payload;
}

function collect(
  deps: SnowplowDeps,
  eventsOf: (req: Request, res: Response) => unknown[] | string,
): RequestHandler {
  const pixel = (req: Request): boolean => req.method === 'GET';
  return async (req, res) => {
    const payloads = eventsOf(req, res);
    if (typeof payloads === 'string') {
      sendProblem(res, 'bad-request', payloads);
      return;
    }
    if (payloads.length > deps.maxEventsPerRequest) {
      sendProblem(res, 'bad-request', `At most ${deps.maxEventsPerRequest} events per request.`);
      return;
    }
    const anonymous = req.get('sp-anonymous') !== undefined;
    const networkUserId = anonymous ? undefined : networkUser(req, res);
    const mapped = payloads.map((p) => mapSnowplowPayload(p, networkUserId));
    const sources = sourcesOf(deps, req, payloads, mapped);
    if ('problem' in sources) {
      sendProblem(res, sources.problem, sources.detail, {}, sources.retryAfterSeconds);
      return;
    }
    if (sources.refused > 0 && sources.mapped.every((m) => !m.ok)) {
      sendProblem(
        res,
        sources.noAppId ? 'unauthorized' : 'forbidden',
        sources.noAppId
          ? 'Send an API key (`X-API-Key`), or events whose app id (`aid`) is registered to a source.'
          : 'No event has an app id (`aid`) registered to a source (INTAKE_BROWSER_APP_IDS).',
      );
      return;
    }
    const stored = await storeMapped(deps, req, res, sources.mapped, {
      source: deps.defaultSource,
      sourceOf: sources.sourceOf,
      anonymous,
    });
    if (!stored) return;
    if (stored.accepted === 0) {
      sendProblem(res, 'bad-request', 'No event is valid; fix those listed in "rejected".', {
        rejected: stored.rejected,
      });
      return;
    }
    if (pixel(req)) {
      res.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
      res.status(200).type('image/gif').send(GIF);
      return;
    }
    res.status(200).json({ accepted: stored.accepted, rejected: stored.rejected });
  };
}

/** The `sp` cookie's id, or a new one set as the cookie. */
function networkUser(req: Request, res: Response): string {
  const found = req.headers.cookie ? COOKIE.exec(req.headers.cookie)?.[1] : undefined;
  if (found) return found;
  const id = randomUUID();
  res.cookie(NETWORK_USER_COOKIE, id, {
    maxAge: ONE_YEAR_MS,
    httpOnly: true,
    path: '/',
    ...(req.secure ? { sameSite: 'none', secure: true } : { sameSite: 'lax' }),
  });
  return id;
}

type Sources =
  | {
      mapped: Mapped[];
      sourceOf: (index: number) => string;
      /** Events refused for their app id. */
      refused: number;
      noAppId: boolean;
    }
  | Refusal;

interface Refusal {
  problem: 'unauthorized' | 'forbidden' | 'rate-limited' | 'origin-not-allowed';
  detail: string;
  retryAfterSeconds?: number;
}

/**
 * Each event's source: the key's for a request with a key; else its app id's. Events of
 * an unregistered app id become rejected items.
 */
function sourcesOf(
  deps: SnowplowDeps,
  req: Request,
  payloads: unknown[],
  mapped: Mapped[],
): Sources {
  const authorization = req.get('authorization');
  const apiKey = req.get('x-api-key');
  if (apiKey !== undefined || /^bearer /i.test(authorization ?? '')) {
    let source = deps.defaultSource;
    if (deps.checkKey) {
      const checked = deps.checkKey({
        authorization,
        apiKey,
        ip: req.ip,
        origin: req.get('origin'),
      });
      if (!checked.ok) return checked as Sources;
      source = checked.source ?? source;
    }
    return { mapped, sourceOf: () => source, refused: 0, noAppId: false };
  }
  const aidOf = (i: number): string => {
    const aid = (payloads[i] as Record<string, unknown> | undefined)?.aid;
    return typeof aid === 'string' ? aid : '';
  };
  const byAppId = new Map<string, string | null>();
  for (let i = 0; i < payloads.length; i++) {
    const aid = aidOf(i);
    if (byAppId.has(aid)) continue;
    const source = appSource(deps, aid, req);
    if (typeof source === 'object' && source !== null) return source;
    byAppId.set(aid, source);
  }
  let refused = 0;
  let noAppId = false;
  const out = mapped.map((m, i): Mapped => {
    const aid = aidOf(i);
    if (byAppId.get(aid) !== null || !m.ok) return m;
    refused++;
    if (!aid) noAppId = true;
    return {
      ok: false,
      reason: aid
        ? `the app id "${aid.slice(0, 64)}" is not registered to a source`
        : 'no app id ("aid") and no API key',
    };
  });
  return {
    mapped: out,
    sourceOf: (i) => byAppId.get(aidOf(i)) ?? deps.defaultSource,
    refused,
    noAppId,
  };
}

/**
 * An app id's source, null when unregistered, or the answer to the whole request: its
 * rate limit, or a page whose origin its source does not list.
 */
function appSource(deps: SnowplowDeps, aid: string, req: Request): string | null | Refusal {
  if (!deps.checkAppId) return deps.browserAppIds.get(aid) ?? deps.defaultSource;
  if (!aid) return null;
  const checked = deps.checkAppId({ apiKey: aid, ip: req.ip, origin: req.get('origin') });
  if (checked.ok) return checked.source ?? deps.defaultSource;
  if (checked.problem === 'rate-limited') {
    const seconds = checked.retryAfterSeconds ?? 1;
    return {
      problem: 'rate-limited',
      detail: `Too many requests for this app id; retry after ${seconds} s.`,
      retryAfterSeconds: seconds,
    };
  }
  if (checked.problem === 'origin-not-allowed')
    return { problem: checked.problem, detail: checked.detail };
  return null;
}
