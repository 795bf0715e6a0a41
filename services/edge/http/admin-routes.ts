/**
 * The admin API: what the CLI's `sources` and `forget` commands do, over HTTP, with its
 * own key (`INTAKE_ADMIN_KEY`, never a source's key): `Authorization: Bearer <admin key>`
 * or `X-Admin-Key`. Missing: 401; wrong: 403 (compared by SHA-256, in constant time).
 * Without `INTAKE_ADMIN_KEY` the API is off: 404.
 *
 * - `GET /admin/sources`: every source (without its `hashKey`).
 * - `POST /admin/sources` `{"name"}`: 201 `{source, key}`, the key shown this once; 409 if
 *   the source exists.
 * - `PATCH /admin/sources/{name}`: the settings of lib/sources/changes.ts `SourceChange`
 *   (`perSecond`, `burst`, `perDay`, `perDayGrace`, `ip`, `userAgent`, `redact`, `hash`,
 *   `gpc`, `dnt`, `suppressed`, `origins`, `appIds`; null unsets a number): 200 the record.
 * - `POST /admin/sources/{name}/rotate-key` `{"graceSeconds"?}` (default a day): `{source, key}`.
 * - `POST /admin/sources/{name}/disable` and `/enable`.
 * - `POST /admin/forget` `{"source", "key"}`: 202 `{forget}`.
 *
 * An invalid setting: 400 naming the field as a JSON pointer (`field`), into the record
 * for a setting the record refuses (`/quotas/burst`), into the request body otherwise.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express from 'express';
import type { Request, RequestHandler, Response } from 'express';
import type { SourceRecord } from '../../../lib/records/source';
import { shownSource } from '../../../lib/sources/admin';
import type { AdminResult, SourceAdmin } from '../../../lib/sources/admin';
import type { SourceChange } from '../../../lib/sources/changes';
import type { ProblemType } from '../../../lib/http/problem';
import { sendProblem } from './send-problem';

export interface AdminDeps {
  admin: SourceAdmin;
  /** The admin key; absent: the admin API answers 404. */
  key?: string;
}

type Method = 'get' | 'post' | 'patch';
export interface AdminRoute {
  method: Method;
  path: string;
  handlers: RequestHandler[];
}

const DAY_S = 86_400;
const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

function checkAdminKey(key: string | undefined): RequestHandler {
  const wanted = key === undefined ? undefined : sha256(key);
  return (req, res, next) => {
    if (!wanted) {
      sendProblem(res, 'not-found', 'The admin API is off: set INTAKE_ADMIN_KEY to turn it on.');
      return;
    }
    const auth = req.get('authorization');
    const given = auth?.toLowerCase().startsWith('bearer ')
      ? auth.slice(7).trim()
      : req.get('x-admin-key');
    if (!given) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="intake-admin"');
      sendProblem(res, 'unauthorized', 'Send the admin key as `Authorization: Bearer <key>`.');
      return;
    }
    if (!timingSafeEqual(sha256(given), wanted)) {
      sendProblem(res, 'forbidden', 'This is not the admin key.');
      return;
    }
    next();
  };
}

const STATUS_PROBLEM: Record<400 | 404 | 409, ProblemType> = {
  400: 'bad-request',
  404: 'not-found',
  409: 'conflict',
};

function answer<T extends object>(res: Response, result: AdminResult<T>, status = 200): void {
  if (!result.ok) {
    sendProblem(
      res,
      STATUS_PROBLEM[result.status],
      result.field ? `${result.field} ${result.reason}` : result.reason,
      result.field ? { field: result.field } : {},
    );
    return;
  }
  const { ok: _ok, ...body } = result as { ok: true } & Record<string, unknown>;
  if ('source' in body) body.source = shownSource(body.source as SourceRecord);
  res.status(status).json(body);
}

const badField = (res: Response, field: string, reason: string): void =>
  sendProblem(res, 'bad-request', `${field} ${reason}`, { field });

const NUMBERS = ['perSecond', 'burst', 'perDay', 'perDayGrace'] as const;
const CHOICES = ['ip', 'userAgent', 'gpc', 'dnt'] as const;
const LISTS = ['redact', 'hash', 'suppressed', 'origins', 'appIds'] as const;

/** The change a PATCH body asks for, or the first bad field of the body. */
export function readChange(
  body: unknown,
): { change: SourceChange } | { field: string; reason: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { field: '/', reason: 'must be a JSON object of settings' };
  const known = new Set<string>([...NUMBERS, ...CHOICES, ...LISTS]);
  for (const [name, value] of Object.entries(body)) {
    if (!known.has(name))
      return { field: `/${name.slice(0, 64)}`, reason: 'is not a setting of a source' };
    const numeric = (NUMBERS as readonly string[]).includes(name);
    const list = (LISTS as readonly string[]).includes(name);
    if (numeric && value !== null && typeof value !== 'number')
      return { field: `/${name}`, reason: 'must be a number or null' };
    if (list && !(Array.isArray(value) && value.every((v) => typeof v === 'string')))
      return { field: `/${name}`, reason: 'must be an array of strings' };
    if (!numeric && !list && typeof value !== 'string')
      return { field: `/${name}`, reason: 'must be a string' };
  }
  return { change: body };
}

const nameOf = (req: Request): string => String(req.params.name);

export function adminRoutes(deps: AdminDeps): AdminRoute[] {
  const { admin } = deps;
  const guard = [checkAdminKey(deps.key), express.json({ limit: '256kb' })];
  const route = (method: Method, path: string, handler: RequestHandler): AdminRoute => ({
    method,
    path,
    handlers: [...guard, handler],
  });
  const body = (req: Request): Record<string, unknown> =>
    typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : {};
  return [
    route('get', '/admin/sources', (_req, res) => {
      res.json({ sources: admin.list().map(shownSource) });
    }),
    route('post', '/admin/sources', async (req, res) => {
      const { name } = body(req);
      if (typeof name !== 'string') return badField(res, '/name', 'is required (a string)');
      answer(res, await admin.add(name), 201);
    }),
    route('patch', '/admin/sources/:name', async (req, res) => {
      const read = readChange(req.body);
      if ('field' in read) return badField(res, read.field, read.reason);
      answer(res, await admin.set(nameOf(req), read.change));
    }),
    route('post', '/admin/sources/:name/rotate-key', async (req, res) => {
      const { graceSeconds = DAY_S } = body(req);
      if (typeof graceSeconds !== 'number' || !(graceSeconds >= 0))
        return badField(res, '/graceSeconds', 'must be a number of seconds >= 0');
      answer(res, await admin.rotateKey(nameOf(req), graceSeconds * 1000));
    }),
    route('post', '/admin/sources/:name/disable', async (req, res) => {
      answer(res, await admin.setEnabled(nameOf(req), false));
    }),
    route('post', '/admin/sources/:name/enable', async (req, res) => {
      answer(res, await admin.setEnabled(nameOf(req), true));
    }),
    route('post', '/admin/forget', async (req, res) => {
      const { source, key } = body(req);
      if (typeof source !== 'string') return badField(res, '/source', 'is required (a string)');
      if (typeof key !== 'string') return badField(res, '/key', 'is required (a string)');
      answer(res, await admin.forget(source, key), 202);
    }),
  ];
}
