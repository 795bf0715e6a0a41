/**
 * `GET /v1/intake.js`: the browser tracker (`clients/browser/`), bundled at build time by
 * esbuild into `dist/clients/browser/intake.js` (`npm run build:tracker`, part of
 * `npm run build` and of the container image). The edge reads it once at start and
 * serves it from memory, gzipped when the client accepts it, with a strong `ETag` (a
 * `304` for `If-None-Match`) and `Cache-Control: public, max-age=300`: a deploy reaches
 * pages within minutes, and a revalidation costs one empty answer. No key is needed (a
 * script tag sends none); it is served to any origin.
 *
 * Without the built file (an edge run from sources that were never built) the edge still
 * starts and answers 404 with the command that builds it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { RequestHandler } from 'express';
import { projectRoot } from '../../../lib/paths';
import { sendProblem } from './send-problem';

export interface TrackerScript {
  js: Buffer;
  gzip: Buffer;
  etag: string;
}

export const TRACKER_FILE = join('dist', 'clients', 'browser', 'intake.js');

/** The built tracker as served, or null when it was not built. */
export function loadTracker(root = projectRoot()): TrackerScript | null {
  const file = join(root, TRACKER_FILE);
  return existsSync(file) ? trackerScript(readFileSync(file)) : null;
}

export function trackerScript(js: Buffer): TrackerScript {
  const hash = createHash('sha256').update(js).digest('base64url').slice(0, 22);
  return { js, gzip: gzipSync(js, { level: 9 }), etag: `"${hash}"` };
}

export function trackerRoute(script: TrackerScript | null): RequestHandler {
  return (req, res) => {
    if (!script) {
      sendProblem(
        res,
        'not-found',
        `The tracker is not built on this edge: run \`npm run build\` (it writes ${TRACKER_FILE}).`,
      );
      return;
    }
    res.setHeader('Content-Type', 'application/javascript; charset=utf-8');
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.setHeader('ETag', script.etag);
    res.setHeader('Vary', 'Accept-Encoding');
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    const match = req.get('if-none-match');
    if (match && match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === script.etag)) {
      res.status(304).end();
      return;
    }
    if (req.acceptsEncodings('gzip', 'identity') === 'gzip') {
      res.setHeader('Content-Encoding', 'gzip');
      res.send(script.gzip);
      return;
    }
    res.send(script.js);
  };
}
