/**
 * Reads an SDK request's body as one JSON object, whatever its `Content-Type` (SDKs in
 * browsers send `text/plain` to avoid a CORS preflight, servers `application/json`),
 * gzip or deflate encoded or not, with the guards of every other body (ingest/body.ts:
 * UTF-8, nesting depth, `__proto__` keys, expansion ratio). The object is left in
 * `res.locals[SDK_BODY]` for the route; a body over `limitBytes` or not a JSON object is
 * answered 400 (the SDKs do not retry a 400) with a problem document.
 */
import express from 'express';
import type { RequestHandler } from 'express';
import { BodyError, bodyDefaults, parseBody } from '../ingest/body';
import { sendProblem } from '../http/send-problem';

export const SDK_BODY = 'sdkBody';

export function readJsonObject(limitBytes: number, tooLarge: string): RequestHandler[] {
  const raw = express.raw({ limit: limitBytes, type: () => true, inflate: true });
  const read: RequestHandler = (req, res, next) => {
    raw(req, res, (err?: unknown) => {
      if ((err as { type?: string } | undefined)?.type === 'entity.too.large') {
        sendProblem(res, 'bad-request', tooLarge, { limitBytes });
        return;
      }
      next(err);
    });
  };
  const parse: RequestHandler = (req, res, next) => {
    if (!Buffer.isBuffer(req.body) || req.body.length === 0) {
      sendProblem(res, 'bad-request', 'The body is empty; send a JSON object.');
      return;
    }
    const encoded = req.headers['content-encoding'] ? req.headers['content-length'] : undefined;
    let parsed;
    try {
      parsed = parseBody(req.body, 'json', encoded ? Number(encoded) : null, {
        ...bodyDefaults,
        maxEventBytes: limitBytes,
      });
    } catch (err) {
      if (!(err instanceof BodyError)) throw err;
      sendProblem(res, err.problem === 'malformed-json' ? err.problem : 'bad-request', err.message);
      return;
    }
    const only = parsed.single ? parsed.items[0] : undefined;
    if (!only?.ok || typeof only.value !== 'object' || only.value === null) {
      sendProblem(
        res,
        'bad-request',
        only && !only.ok
          ? `The body is not accepted: ${only.reason}.`
          : 'The body must be a JSON object.',
      );
      return;
    }
    res.locals[SDK_BODY] = only.value;
    next();
  };
  return [read, parse];
}
