/**
 * `POST /v1/events` in front of express' router, for the requests the edge spends nearly
 * all its time on. It is installed as the app's request entry (`app.handle`), takes only
 * the requests it answers exactly as the routed path would, and hands every other one to
 * the router unchanged:
 *
 * - `POST` to exactly `/v1/events`, without a query (`?wait=processed`, `?ack=none` and
 *   `?api_key=` take the routed path);
 * - an events media type (ingest/content-type.ts), no `Content-Encoding`, and a
 *   `Content-Length` within the body limit (chunked, encoded or larger bodies take the
 *   routed path, whose reader decompresses or answers 413).
 *
 * For those it does what express does before its router (the request and response
 * prototypes, unless the server made them with these: app-server.ts; `res.locals`), then
 * runs the same handlers, in the same order, as the router would: the app's first middlewares (`before`: request counter, access log), CORS
 * when configured, the API key check and rate limit (`authenticate`, the same instance, so
 * one budget per key), then the events route. Only reading the body is its own: the
 * declared length, answered 400 when the request ends short, as the body parser answers,
 * and, when the read window is on, waiting for it before reading (ingest/read-window.ts).
 * Errors go to the app's error handler.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type {
  ErrorRequestHandler,
  Express,
  NextFunction,
  Request,
  RequestHandler,
  Response,
} from 'express';
import { bodyFormatOf } from '../ingest/content-type';
import type { ReadWindow, Ticket } from '../ingest/read-window';

export const EVENTS_PATH = '/v1/events';

export interface EventsFastPathDeps {
  maxBodyBytes: number;
  /** The app's first middlewares, run for every request taken (each calls `next` synchronously). */
  before?: RequestHandler[];
  /** CORS, when configured (it must call `next` synchronously for a POST, as `cors` does). */
  cors?: RequestHandler;
  /** The API key check, when configured: the instance the router uses for /v1. */
  auth?: RequestHandler;
  /** The events route itself (events-route.ts). */
  events: RequestHandler;
  /** The app's error handler. */
  onError: ErrorRequestHandler;
  /** When set, a body is read only once it fits in the window (ingest/read-window.ts). */
  window?: ReadWindow;
}

/** The label the request counter gives the requests answered here. */
export const FAST_PATH_ROUTE = 'fastPathRoute';

/** Express' request entry, which the router's `handle` is (untyped in @types/express). */
interface Handled {
  handle(req: IncomingMessage, res: ServerResponse, callback?: unknown): void;
}

/** True when `proto` is in `o`'s prototype chain. */
const inherits = (o: object, proto: object): boolean =>
  Object.prototype.isPrototypeOf.call(proto, o);

/** Puts the fast path in front of `app`'s router: `app` stays a plain express app. */
export function installEventsFastPath(app: Express, deps: EventsFastPathDeps): void {
  const handled = app as unknown as Handled;
  const routed = handled.handle.bind(app);
  const take = eventsFastPath(app, deps);
  handled.handle = (req, res, callback) => {
    if (!take(req, res)) routed(req, res, callback);
  };
}

function eventsFastPath(
  app: Express,
  deps: EventsFastPathDeps,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { cors, auth, events, maxBodyBytes, onError, window } = deps;
  const before = deps.before ?? [];
  const noop = (): void => {};
  return (incoming, outgoing) => {
    const length = declaredLength(incoming, maxBodyBytes);
    if (length < 0) return false;
    // As express' app.handle before its router.
    const req = incoming as Request;
    const res = outgoing as Response;
    req.res = res;
    res.req = req;
    // NOTE: the edge's server makes them with these prototypes already (app-server.ts).
    if (!inherits(req, app.request)) Object.setPrototypeOf(req, app.request);
    if (!inherits(res, app.response)) Object.setPrototypeOf(res, app.response);
    res.locals = Object.create(null) as Record<string, unknown>;
    req.originalUrl = req.url;
    req.baseUrl = '';
    res.locals[FAST_PATH_ROUTE] = EVENTS_PATH;
    const next: NextFunction = (err?: unknown) => {
      onError(err ?? new Error('Rejected'), req, res, () => {
        res.statusCode = 500;
        res.end();
      });
    };
    const read = (ticket?: Ticket): void => {
      readBody(req, length, (err, body) => {
        if (err) {
          ticket?.leave();
          next(err);
          return;
        }
        req.body = body;
        // NOTE: the route hands the events to the sink synchronously, so they count as
        // queued before the window lets the next body in.
        dispatch(events, req, res, next);
        ticket?.leave();
      });
    };
    const route = window
      ? (): void => {
          const ticket = window.enter(length, read, next);
          // a client that leaves, waiting or while its body is read, leaves the window
          res.once('close', ticket.leave);
        }
      : read;
    const afterCors = auth
      ? (): void => {
          auth(req, res, (err?: unknown) => {
            if (err) next(err);
            else route();
          });
        }
      : route;
    // NOTE: as in express' router, a handler that throws is answered by the error handler.
    try {
      for (const handler of before) void handler(req, res, noop);
      if (!cors) afterCors();
      else
        cors(req, res, (err?: unknown) => {
          if (err) next(err);
          else afterCors();
        });
    } catch (err) {
      next(err);
    }
    return true;
  };
}

/** The body length of a request this path takes, else -1. */
function declaredLength(req: IncomingMessage, maxBodyBytes: number): number {
  if (req.method !== 'POST' || req.url !== EVENTS_PATH) return -1;
  const h = req.headers;
  if (h['content-encoding'] !== undefined || h['transfer-encoding'] !== undefined) return -1;
  const declared = h['content-length'];
  if (declared === undefined || !/^[0-9]{1,15}$/.test(declared)) return -1;
  const length = Number(declared);
  if (length > maxBodyBytes || !bodyFormatOf(h['content-type']).ok) return -1;
  return length;
}

/** As express' router calls a handler: a rejected promise goes to the error handler. */
function dispatch(handler: RequestHandler, req: Request, res: Response, next: NextFunction): void {
  try {
    const ret: unknown = handler(req, res, next);
    if (ret instanceof Promise) ret.catch((err: unknown) => next(err ?? new Error('Rejected')));
  } catch (err) {
    next(err);
  }
}

/** The request's body of `length` bytes, or the body parser's error for a short one. */
function readBody(
  req: IncomingMessage,
  length: number,
  done: (err: Error | null, body?: Buffer) => void,
): void {
  const chunks: Buffer[] = [];
  let received = 0;
  let settled = false;
  const finish = (err: Error | null): void => {
    if (settled) return;
    settled = true;
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('aborted', onAborted);
    req.off('error', onError);
    if (err) done(err);
    else done(null, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
  };
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    received += chunk.length;
  };
  const onEnd = (): void =>
    finish(received === length ? null : bodyError('request.size.invalid', length, received));
  const onAborted = (): void => finish(bodyError('request.aborted', length, received));
  const onError = (): void => finish(bodyError('request.aborted', length, received));
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('aborted', onAborted);
  req.on('error', onError);
}

/** The error the body parser gives (its `type` is what the app's error handler reads). */
function bodyError(type: string, expected: number, received: number): Error {
  return Object.assign(
    new Error(
      type === 'request.aborted' ? 'request aborted' : 'request size did not match content length',
    ),
    { type, status: 400, expected, received },
  );
}
