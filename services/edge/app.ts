/**
 * The edge's HTTP application: routes, body parsing with limits, and the error mapping
 * that turns every failure into a problem document. It holds no per-event state, so any
 * instance can serve any request. Each route is listed once, in `routes()`: a path's
 * other methods are answered 405 with `Allow` from the same list. WebSocket upgrades are
 * routed beside it (upgrades.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import express from 'express';
import type { ErrorRequestHandler, Express, RequestHandler } from 'express';
import type { Logger } from '../../lib/logger';
import { projectRoot } from '../../lib/paths';
import type { EdgeMetrics } from './metrics';
import type { Sink } from './sink';
import { eventsRoute, quotaPrecheck } from './http/events-route';
import { FAST_PATH_ROUTE, installEventsFastPath } from './http/events-fast-path';
import { receiptRoute, scoreRoute } from './http/lookup-routes';
import type { LookupDeps } from './http/lookup-routes';
import type { RespondDeps } from './http/respond';
import { sendStoreFailure } from './http/respond';
import { IntakeError } from '../../lib/errors';
import { ReadWindow } from './ingest/read-window';
import type { OneWayQueue } from './one-way-queue';
import { bodyDefaults } from './ingest/body';
import type { BodyLimits } from './ingest/body';
import { EVENT_CONTENT_TYPES } from './ingest/content-type';
import { authenticate, createKeyChecker } from './http/auth';
import { corsFor } from './http/origins';
import type { AuthConfig, KeyChecker } from './http/auth';
import { sendProblem } from './http/send-problem';
import { accessLog } from './http/access-log';
import { beaconBody } from './http/beacon';
import { countingEncodedBytes } from './http/encoded-length';
import { trackerRoute } from './http/tracker-route';
import type { TrackerScript } from './http/tracker-route';
import { chunkedStreamRoute } from './stream/chunked-stream';
import type { StreamLimits } from './stream/stream-session';
import { sseSubscribeRoute } from './subscribe/subscribe-routes';
import type { Fanouts } from './subscribe/subscribe-routes';
import { sdkRoutes } from './sdk/sdk-routes';
import type { SdkOptions } from './sdk/sdk-routes';
import type { SdkRoute } from './sdk/sdk-route';
import type { SourcePolicy } from './sources/source-policy';
import { adminRoutes } from './http/admin-routes';
import type { AdminDeps } from './http/admin-routes';

export interface AppDeps {
  sink: Sink;
  logger: Logger;
  metrics: EdgeMetrics;
  instance: string;
  maxBodyBytes: number;
  maxEventsPerRequest: number;
  defaultSource: string;
  /** True once SIGTERM was received: `/readyz` answers 503 so the balancer moves away. */
  isDraining: () => boolean;
  /** Receipt and score look-ups (absent in unit tests of the ingestion path). */
  lookups?: LookupDeps;
  /** Request/response (`?wait=processed`). */
  respond?: RespondDeps;
  /** One-way (`?ack=none`). */
  oneWay?: OneWayQueue;
  bodyLimits?: BodyLimits;
  /** Chunked NDJSON streaming (`POST /v1/stream`); absent: 404. */
  stream?: StreamLimits;
  /** Subscriptions (`GET /v1/subscribe/:topic`); absent: 404. */
  fanouts?: Fanouts;
  /** API keys and rate limits of the /v1 routes (absent: open, for unit tests). */
  auth?: AuthConfig;
  /** The key checker shared with the WebSocket upgrades (one bucket per key); wins over `auth`. */
  checkKey?: KeyChecker;
  /** Origins allowed to call from browsers (`*` for any); empty: no CORS headers. */
  corsOrigins?: string[];
  /**
   * The origins enabled sources list (the sources topic, asked on each request), allowed
   * by CORS beside `corsOrigins` (http/origins.ts); absent: `corsOrigins` only.
   */
  sourceOrigins?: () => ReadonlySet<string>;
  /** The browser tracker served at `GET /v1/intake.js` (absent or null: 404). */
  tracker?: TrackerScript | null;
  /** Access log: `errors` (4xx/5xx only, the default) or `all`; `off` in unit tests. */
  accessLog?: 'all' | 'errors' | 'off';
  /**
   * How far `POST /v1/events` reads ahead of Kafka (ingest/read-window.ts): bodies are
   * read while the sink's queued bytes plus the bodies being read fit in `bytes`; a
   * request waiting longer than `maxWaitMs` gets 503. Absent or 0 bytes: no window.
   */
  readWindow?: { bytes: number; maxWaitMs: number };
  /** Segment's and Snowplow's protocols (sdk/); absent: served with no browser app ids. */
  sdk?: SdkOptions;
  /** Per-source quotas and privacy on `POST /v1/events` (sources/source-policy.ts); absent: none. */
  sources?: SourcePolicy;
  /** The admin API (`/admin/...`, http/admin-routes.ts); absent: 404. */
  admin?: AdminDeps;
}

export { bodyDefaults };

type Method = 'get' | 'post' | 'patch';

/** One route: `v1` routes come after CORS, and after authentication unless `open`. */
interface Route {
  method: Method;
  path: string;
  v1: boolean;
  open: boolean;
  handlers: RequestHandler[];
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  const first = [countRequests(deps.metrics)];
  if (deps.accessLog && deps.accessLog !== 'off')
    first.push(accessLog(deps.logger, deps.accessLog));
  for (const handler of first) app.use(handler);

  const events = eventsRoute({ ...deps, bodyLimits: deps.bodyLimits ?? bodyDefaults });
  const corsHandler =
    deps.corsOrigins?.length || deps.sourceOrigins
      ? corsFor(deps.corsOrigins ?? [], deps.sourceOrigins)
      : undefined;
  // NOTE: one key checker serves both paths and the upgrades: one rate-limit budget per key.
  const checkKey = deps.checkKey ?? (deps.auth && createKeyChecker(deps.auth));
  const auth = checkKey ? authenticate(checkKey) : undefined;
  const onError = errorHandler(deps.logger, deps.maxBodyBytes);
  // A source over its quota is refused before its body is read (the fast path's requests).
  const precheck = deps.sources ? quotaPrecheck(deps) : undefined;
  installEventsFastPath(app, {
    maxBodyBytes: deps.maxBodyBytes,
    before: first,
    cors: corsHandler,
    auth: auth && precheck ? then(auth, precheck) : auth,
    events,
    onError,
    window: deps.readWindow?.bytes ? readWindow(deps.sink, deps.readWindow) : undefined,
  });

  const sdk = sdkRoutes(deps, checkKey);
  app.use(sdk.corsPaths, sdk.cors);
  const all = [...routes(deps, events), ...sdk.routes.flatMap(fromSdk)];
  for (const r of all.filter((r) => !r.v1)) app[r.method](r.path, ...r.handlers);
  if (corsHandler) app.use('/v1', corsHandler);
  for (const r of all.filter((r) => r.v1 && r.open)) app[r.method](r.path, ...r.handlers);
  if (auth) app.use('/v1', auth);
  for (const r of all.filter((r) => r.v1 && !r.open)) app[r.method](r.path, ...r.handlers);

  const allowed = new Map<string, Set<string>>();
  for (const r of all)
    allowed.set(r.path, (allowed.get(r.path) ?? new Set()).add(r.method.toUpperCase()));
  for (const [path, methods] of allowed) {
    const allow = [...methods].join(', ');
    app.all(path, (req, res) => {
      res.setHeader('Allow', allow);
      sendProblem(res, 'method-not-allowed', `${req.method} is not supported here; use ${allow}.`);
    });
  }

  app.use((req, res) => {
    sendProblem(res, 'not-found', `No route for ${req.method} ${req.path}; see docs/api.md.`);
  });
  app.use(onError);
  return app;
}

/** `first`, then `second` unless `first` answered or failed. */
function then(first: RequestHandler, second: RequestHandler): RequestHandler {
  return (req, res, next) =>
    first(req, res, (err?: unknown) => (err ? next(err) : second(req, res, next)));
}

/** An SDK route as the app's routes: its `before` handlers open, its handler after the key check. */
function fromSdk(r: SdkRoute): Route[] {
  const v1 = r.path.startsWith('/v1/');
  const list: Route[] = [{ method: r.method, path: r.path, v1, open: true, handlers: r.before }];
  if (r.handler)
    list.push({ method: r.method, path: r.path, v1, open: false, handlers: [r.handler] });
  return list;
}

/** The window over the sink's queue: each Kafka request that takes the queue lets readers in. */
function readWindow(sink: Sink, o: { bytes: number; maxWaitMs: number }): ReadWindow {
  const window = new ReadWindow({
    limitBytes: o.bytes,
    maxWaitMs: o.maxWaitMs,
    queuedBytes: () => sink.queuedBytes(),
    retryAfterSeconds: () => sink.retryAfterSeconds(),
  });
  sink.onDequeued(() => window.pump());
  return window;
}

/**
 * Every HTTP route of the edge, once; optional features add theirs when configured.
 * `POST /v1/events` requests are mostly answered before the router (events-fast-path.ts),
 * by the same `events` handler.
 */
function routes(deps: AppDeps, events: RequestHandler): Route[] {
  const route = (method: Method, path: string, ...handlers: RequestHandler[]): Route => ({
    method,
    path,
    v1: path.startsWith('/v1/'),
    open: false,
    handlers,
  });
  /** A /v1 route that runs before the key check. */
  const open = (method: Method, path: string, ...handlers: RequestHandler[]): Route => ({
    ...route(method, path, ...handlers),
    open: true,
  });
  const openapi = readFileSync(join(projectRoot(), 'docs', 'openapi.json'), 'utf8');
  const list: Route[] = [
    route('get', '/healthz', (_req, res) => {
      res.json({ status: 'ok', instance: deps.instance });
    }),
    route('get', '/readyz', (_req, res) => {
      const sink = deps.sink.health();
      const ready = sink.ok && !deps.isDraining();
      res.status(ready ? 200 : 503).json({
        status: ready ? 'ready' : 'not-ready',
        draining: deps.isDraining(),
        instance: deps.instance,
        kafka: sink,
      });
    }),
    route('get', '/openapi.json', (_req, res) => {
      res.type('application/json').send(openapi);
    }),
    route('get', '/metrics', async (_req, res) => {
      res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
    }),
    open('get', '/v1/intake.js', trackerRoute(deps.tracker ?? null)),
    // text/plain (beacon) bodies are read before the key check: they may carry the key.
    open('post', '/v1/events', ...beaconBody(deps.maxBodyBytes)),
    route(
      'post',
      '/v1/events',
      countingEncodedBytes(
        express.raw({ limit: deps.maxBodyBytes, type: [...EVENT_CONTENT_TYPES], inflate: true }),
      ),
      events,
    ),
  ];
  if (deps.stream) {
    list.push(
      // A WebSocket upgrade never reaches express (upgrades.ts); a plain GET does.
      route('get', '/v1/stream', (_req, res) => {
        res.setHeader('Upgrade', 'websocket');
        sendProblem(
          res,
          'upgrade-required',
          'Open /v1/stream as a WebSocket, or POST an NDJSON stream to it.',
        );
      }),
      route(
        'post',
        '/v1/stream',
        chunkedStreamRoute({
          ...deps,
          limits: deps.stream,
          onAccepted: (n) => deps.metrics.eventsAccepted.inc(n),
          onRejected: (n) => deps.metrics.eventsRejected.inc({ reason: 'invalid' }, n),
        }),
      ),
    );
  }
  if (deps.admin)
    for (const r of adminRoutes(deps.admin)) list.push(route(r.method, r.path, ...r.handlers));
  if (deps.fanouts)
    list.push(route('get', '/v1/subscribe/:topic', sseSubscribeRoute(deps.fanouts)));
  if (deps.lookups) {
    list.push(
      route('get', '/v1/receipts/:receipt', receiptRoute(deps.lookups)),
      route('get', '/v1/visitors/:id/score', scoreRoute(deps.lookups)),
    );
  }
  return list;
}

function countRequests(metrics: EdgeMetrics): RequestHandler {
  return (req, res, next) => {
    res.on('finish', () => {
      const route = req.route as { path?: string } | undefined;
      const fast = res.locals[FAST_PATH_ROUTE] as string | undefined;
      metrics.requests.inc({
        route: route?.path ?? fast ?? 'unmatched',
        status: String(res.statusCode),
      });
    });
    next();
  };
}

interface BodyParserError {
  type?: string;
  status?: number;
  message?: string;
}

function errorHandler(logger: Logger, maxBodyBytes: number): ErrorRequestHandler {
  const log = logger.child({ module: 'http' });
  return (err: BodyParserError, _req, res, _next) => {
    // e.g. a request that waited too long for the read window: 503 with Retry-After
    if (err instanceof IntakeError) {
      sendStoreFailure(res, err, log);
      return;
    }
    switch (err.type) {
      case 'entity.parse.failed':
        sendProblem(
          res,
          'malformed-json',
          `The body is not valid JSON: ${err.message ?? 'parse error'}.`,
        );
        return;
      case 'entity.too.large':
        sendProblem(
          res,
          'payload-too-large',
          `The body exceeds ${maxBodyBytes} bytes; send smaller batches.`,
        );
        return;
      case 'encoding.unsupported':
      case 'charset.unsupported':
        sendProblem(
          res,
          'unsupported-media-type',
          `${err.message ?? 'Unsupported encoding'}; use UTF-8, gzip or identity.`,
        );
        return;
      case 'request.aborted':
      case 'request.size.invalid':
        sendProblem(res, 'bad-request', 'The body ended before its declared length.');
        return;
      default:
        if (typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
          // e.g. a body that claims gzip but is not: the client's mistake, not ours
          sendProblem(
            res,
            'bad-request',
            `The body could not be read: ${err.message ?? 'bad request'}.`,
          );
          return;
        }
        log.error({ err }, 'unhandled_error');
        sendProblem(res, 'internal-error', 'Unexpected error; it was logged. Retry later.');
    }
  };
}
