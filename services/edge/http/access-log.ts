/**
 * The edge's access log and request id. Every answer carries `X-Request-Id`: nginx's when
 * given (so both logs join), else a new UUIDv7. One pino line per request, written when
 * the answer is finished: 5xx at `error`, 4xx at `warn`, and 2xx/3xx at `info` only in mode
 * `all` (the default, `errors`, skips them: at full rate they would cost more than the
 * request). A client that goes away before its answer is logged at `warn`.
 *
 * Why not pino-http: it builds a child logger per request whether or not it logs; on the
 * edge's single-event path that was 14% of the CPU in the benchmark's profile. Here a
 * request that is not logged costs one header and one listener.
 */
import type { RequestHandler } from 'express';
import type { Logger } from '../../../lib/logger';
import { uuidv7 } from '../../../lib/uuid7';

export type AccessLogMode = 'all' | 'errors';

export function accessLog(logger: Logger, mode: AccessLogMode): RequestHandler {
  const log = logger.child({ module: 'access' });
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && given.length <= 128 ? given : uuidv7();
    res.setHeader('X-Request-Id', id);
    const started = performance.now();
    const line = (statusCode: number) => ({
      req: {
        id,
        method: req.method,
        url: withoutApiKey(req.originalUrl),
        remoteAddress: req.socket.remoteAddress,
      },
      res: { statusCode },
      responseTime: Math.round(performance.now() - started),
    });
    res.once('close', () => {
      const status = res.statusCode;
      if (!res.writableFinished) log.warn(line(status), 'request aborted');
      else if (status >= 500) log.error(line(status), 'request errored');
      else if (status >= 400) log.warn(line(status), 'request completed');
      else if (mode === 'all') log.info(line(status), 'request completed');
    });
    next();
  };
}

/**
 * The access log never shows a key given in the query (`?api_key=`) or in the path (the
 * write key of Segment's settings, `/v1/projects/KEY/...`).
 */
export function withoutApiKey(url: string): string {
  return url
    .replace(/([?&]api_key=)[^&]*/g, '$1[Redacted]')
    .replace(/^\/v1\/projects\/[^/?]*/, '/v1/projects/[Redacted]');
}
