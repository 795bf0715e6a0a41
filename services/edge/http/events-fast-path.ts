/**
 * `POST /v1/events` without express' router and body parser, for the requests the edge
 * spends nearly all its time on. It runs first, after the request counter and the access
 * log, takes only the requests it answers exactly as the routed path would, and hands
 * every other one on unchanged (`next()`):
 *
 * - `POST` to exactly `/v1/events`, without a query (`?wait=processed`, `?ack=none` and
 *   `?api_key=` take the routed path);
 * - an events media type (ingest/content-type.ts), no `Content-Encoding`, and a
 *   `Content-Length` within the body limit (chunked, encoded or larger bodies take the
 *   routed path, whose reader decompresses or answers 413).
 *
 * For those it runs the same handlers, in the same order, as the router would: CORS when
 * configured, the API key check and rate limit (`authenticate`, the same instance, so one
 * budget per key), then the events route. Only reading the body is its own: the declared
 * length, answered 400 when the request ends short, as the body parser answers. Errors go
 * to the app's error handler (`next(err)`).
 */
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { bodyFormatOf } from '../ingest/content-type';

export const EVENTS_PATH = '/v1/events';

export interface EventsFastPathDeps {
  maxBodyBytes: number;
  /** CORS, when configured (it must call `next` synchronously for a POST, as `cors` does). */
  cors?: RequestHandler;
  /** The API key check, when configured: the instance the router uses for /v1. */
  auth?: RequestHandler;
  /** The events route itself (events-route.ts). */
  events: RequestHandler;
}

/** The label the request counter gives the requests answered here. */
export const FAST_PATH_ROUTE = 'fastPathRoute';

export function eventsFastPath(deps: EventsFastPathDeps): RequestHandler {
  const { cors, auth, events, maxBodyBytes } = deps;
  return (req, res, next) => {
    const length = declaredLength(req, maxBodyBytes);
    if (length < 0) {
      next();
      return;
    }
    res.locals[FAST_PATH_ROUTE] = EVENTS_PATH;
    const route = (): void => {
      readBody(req, length, (err, body) => {
        if (err) {
          next(err);
          return;
        }
        req.body = body;
        dispatch(events, req, res, next);
      });
    };
    const afterCors = auth
      ? (): void => {
          auth(req, res, (err?: unknown) => {
            if (err) next(err);
            else route();
          });
        }
      : route;
    if (!cors) {
      afterCors();
      return;
    }
    cors(req, res, (err?: unknown) => {
      if (err) next(err);
      else afterCors();
    });
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
