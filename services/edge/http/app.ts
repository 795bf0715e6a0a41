/**
 * The edge's HTTP application: routes, body parsing with limits, and the error mapping
 * that turns every failure into a problem document. It holds no per-event state, so any
 * instance can serve any request.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import cors from 'cors';
import express from 'express';
import type { ErrorRequestHandler, Express, RequestHandler } from 'express';
import type { Logger } from '../../../lib/logger';
import { projectRoot } from '../../../lib/paths';
import type { EdgeMetrics } from '../metrics';
import type { Sink } from '../sink';
import { eventsRoute } from './events-route';
import { receiptRoute, scoreRoute } from './lookup-routes';
import type { LookupDeps } from './lookup-routes';
import type { RespondDeps } from './respond';
import type { OneWayQueue } from '../one-way-queue';
import type { BodyLimits } from './body';
import { authenticate } from './auth';
import type { AuthConfig } from './auth';
import { sendProblem } from './send-problem';
import { accessLog } from './access-log';
import { beaconBody } from './beacon';
import { trackerRoute } from './tracker-route';
import type { TrackerScript } from './tracker-route';
import { chunkedStreamRoute } from '../stream/chunked-stream';
import type { StreamLimits } from '../stream/stream-session';
import { sseSubscribeRoute } from '../subscribe/subscribe-routes';
import type { Fanouts } from '../subscribe/subscribe-routes';

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
  /** Origins allowed to call from browsers (`*` for any); empty: no CORS headers. */
  corsOrigins?: string[];
  /** The browser tracker served at `GET /v1/intake.js` (absent or null: 404). */
  tracker?: TrackerScript | null;
  /** Access log: `errors` (4xx/5xx only, the default) or `all`; `off` in unit tests. */
  accessLog?: 'all' | 'errors' | 'off';
}

export const bodyDefaults: BodyLimits = { maxDepth: 32, maxRatio: 100, maxEventBytes: 128 * 1024 };

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(countRequests(deps.metrics));
  if (deps.accessLog && deps.accessLog !== 'off') app.use(accessLog(deps.logger, deps.accessLog));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', instance: deps.instance });
  });
  app.get('/readyz', (_req, res) => {
    const sink = deps.sink.health();
    const ready = sink.ok && !deps.isDraining();
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'not-ready',
      draining: deps.isDraining(),
      instance: deps.instance,
      kafka: sink,
    });
  });
  const openapi = readFileSync(join(projectRoot(), 'docs', 'openapi.json'), 'utf8');
  app.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openapi);
  });
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  if (deps.corsOrigins && deps.corsOrigins.length > 0) {
    const origins = deps.corsOrigins;
    app.use(
      '/v1',
      cors({
        origin: origins.includes('*') ? true : origins,
        methods: ['GET', 'POST'],
        allowedHeaders: [
          'Content-Type',
          'Content-Encoding',
          'Authorization',
          'X-API-Key',
          'traceparent',
        ],
        // a browser client reads Retry-After to back off on 429/503
        exposedHeaders: ['Retry-After'],
        credentials: true,
        maxAge: 600,
      }),
    );
  }
  app.get('/v1/intake.js', trackerRoute(deps.tracker ?? null));
  // text/plain (beacon) bodies are read before the key check: they may carry the key
  app.post('/v1/events', ...beaconBody(deps.maxBodyBytes));
  if (deps.auth) app.use('/v1', authenticate(deps.auth));

  app.post(
    '/v1/events',
    express.raw({
      limit: deps.maxBodyBytes,
      type: ['application/json', 'application/x-ndjson'],
      inflate: true,
    }),
    eventsRoute({ ...deps, bodyLimits: deps.bodyLimits ?? bodyDefaults }),
  );

  if (deps.stream) {
    app.post(
      '/v1/stream',
      chunkedStreamRoute({
        ...deps,
        limits: deps.stream,
        onAccepted: (n) => deps.metrics.eventsAccepted.inc(n),
        onRejected: (n) => deps.metrics.eventsRejected.inc({ reason: 'invalid' }, n),
      }),
    );
    app.get('/v1/stream', (_req, res) => {
      res.setHeader('Upgrade', 'websocket');
      sendProblem(
        res,
        'upgrade-required',
        'Open /v1/stream as a WebSocket, or POST an NDJSON stream to it.',
      );
    });
  }
  if (deps.fanouts) app.get('/v1/subscribe/:topic', sseSubscribeRoute(deps.fanouts));

  if (deps.lookups) {
    app.get('/v1/receipts/:receipt', receiptRoute(deps.lookups));
    app.get('/v1/visitors/:id/score', scoreRoute(deps.lookups));
  }

  const methods: [string, string][] = [
    ['/v1/events', 'POST'],
    ['/v1/intake.js', 'GET'],
    ['/v1/stream', 'GET, POST'],
    ['/v1/subscribe/:topic', 'GET'],
    ['/v1/receipts/:receipt', 'GET'],
    ['/v1/visitors/:id/score', 'GET'],
    ['/healthz', 'GET'],
    ['/readyz', 'GET'],
    ['/metrics', 'GET'],
    ['/openapi.json', 'GET'],
  ];
  for (const [path, allow] of methods) {
    app.all(path, (req, res) => {
      res.setHeader('Allow', allow);
      sendProblem(res, 'method-not-allowed', `${req.method} is not supported here; use ${allow}.`);
    });
  }

  app.use((req, res) => {
    sendProblem(res, 'not-found', `No route for ${req.method} ${req.path}; see docs/api.md.`);
  });
  app.use(errorHandler(deps.logger, deps.maxBodyBytes));
  return app;
}

function countRequests(metrics: EdgeMetrics): RequestHandler {
  return (req, res, next) => {
    res.on('finish', () => {
      const route = req.route as { path?: string } | undefined;
      metrics.requests.inc({ route: route?.path ?? 'unmatched', status: String(res.statusCode) });
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
