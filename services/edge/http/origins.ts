/**
 * Browser origins: which pages may call the edge (CORS), and which may send with a given
 * source's key (a source's `origins`, as Segment's and PostHog's allowed origins of a
 * write key; docs/sources.md).
 *
 * - CORS: an origin is allowed when `INTAKE_CORS_ORIGINS` allows it (`*` or listed) or
 *   when an enabled source lists it (a source listing `*` allows any). The sources' list
 *   is read on each request, so a change of the sources topic applies without a restart.
 * - A key: a request that carries an `Origin` header and the key of a source whose
 *   `origins` is not empty is allowed only from a listed origin (or with `*` listed). No
 *   `Origin` header (server SDKs, curl): the key works as before; an empty list: any
 *   origin CORS allows.
 *
 * Origins compare as the WHATWG URL parser writes them (`https://shop.example`, lower
 * case, no default port), as the source record stores them; a header that is no URL
 * (`null`, from sandboxed frames or files) matches only itself.
 */
import cors from 'cors';
import type { RequestHandler } from 'express';

/** The origin as a source record writes it. */
export function normalOrigin(origin: string): string {
  if (!URL.canParse(origin)) return origin;
  const url = new URL(origin);
  // an opaque origin (`null` for data: or file: URLs) has no normal form: kept as sent
  return url.origin === 'null' ? origin : url.origin;
}

/** Whether a request from `origin` (undefined: no `Origin` header) may use a key of a source listing `listed`. */
export function keyAllowsOrigin(listed: readonly string[], origin: string | undefined): boolean {
  if (origin === undefined || listed.length === 0 || listed.includes('*')) return true;
  return listed.includes(origin) || listed.includes(normalOrigin(origin));
}

/** Whether CORS allows `origin`: configured (`*` or listed) or listed by an enabled source. */
export function corsAllowsOrigin(
  configured: readonly string[],
  fromSources: ReadonlySet<string>,
  origin: string,
): boolean {
  if (configured.includes('*') || fromSources.has('*')) return true;
  if (configured.includes(origin) || fromSources.has(origin)) return true;
  const normal = normalOrigin(origin);
  return configured.includes(normal) || fromSources.has(normal);
}

/** The detail of a refused origin: what the source's owner does to allow it. */
export function originRefusal(source: string, origin: string): string {
  return (
    `Origin ${origin.slice(0, 200)} may not send with the keys of source "${source}". ` +
    `To allow it, add it to the source's origins: ` +
    `npm run intake -- sources set ${source} --origins <its origins>,${normalOrigin(origin).slice(0, 200)} ` +
    `(the list given replaces the current one).`
  );
}

/**
 * The /v1 routes' CORS (the `cors` package, with an origin function): `sourceOrigins` is
 * asked on each request with an `Origin` header (absent: only `configured`).
 */
export function corsFor(
  configured: readonly string[],
  sourceOrigins: () => ReadonlySet<string> = () => NONE,
): RequestHandler {
  const handler = cors({
    // NOTE: the callback is called at once: the events fast path needs `next` synchronously.
    // A refused origin gets an empty list, not false: `cors` then still answers the
    // preflight and sets `Vary: Origin`, only without `Access-Control-Allow-Origin`.
    origin: (origin, callback) => {
      const allowed = origin === undefined || corsAllowsOrigin(configured, sourceOrigins(), origin);
      callback(null, allowed ? true : []);
    },
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
  });
  // A request without `Origin` is no CORS request (server SDKs, curl): nothing to add but
  // `Vary`, so a cache never serves its answer to a page.
  return (req, res, next) => {
    if (req.headers.origin !== undefined) return handler(req, res, next);
    res.setHeader('Vary', 'Origin');
    next();
  };
}

const NONE: ReadonlySet<string> = new Set();
