/**
 * Streaming upload for clients without WebSocket: `POST /v1/stream` with an NDJSON body
 * sent as it is produced (`Transfer-Encoding: chunked`). The protocol is the WebSocket
 * one (`StreamSession`): the answer is `200` at once with an NDJSON stream of `{"ack": n}`
 * and per-event `{"seq": n, "error": ...}` lines while the upload goes on, and a last line
 * `{"done": true, "ack": n, "accepted": a, "rejected": r}` once every event was
 * acknowledged. The answer's `X-Intake-Instance` header names the edge serving the stream
 * (as the WebSocket's hello does). Backpressure: while the session waits for Kafka, the
 * request is paused.
 * A line longer than the event limit ends the stream with a `bad-frame` line.
 */
import type { RequestHandler } from 'express';
import type { Logger } from '../../../lib/logger';
import { sendProblem } from '../http/send-problem';
import type { Sink } from '../sink';
import type { SourcePolicy } from '../sources/source-policy';
import { StreamSession, quotaOf } from './stream-session';
import type { StreamLimits } from './stream-session';

export interface ChunkedStreamDeps {
  sink: Sink;
  logger: Logger;
  defaultSource: string;
  /** This edge's name, sent as `X-Intake-Instance`. */
  instance: string;
  limits: StreamLimits;
  onAccepted?: (count: number) => void;
  onRejected?: (count: number) => void;
  /** Per-source quotas (sources/source-policy.ts), taken per line run; absent: none. */
  sources?: SourcePolicy;
}

/** A frame wraps an event in `{"seq": n, "event": ...}`: allow for that much more. */
const FRAME_OVERHEAD = 64;

export function chunkedStreamRoute(deps: ChunkedStreamDeps): RequestHandler {
  const log = deps.logger.child({ module: 'chunked-stream' });
  return (req, res) => {
    if (!req.is('application/x-ndjson')) {
      sendProblem(res, 'unsupported-media-type', 'Stream events as application/x-ndjson.');
      return;
    }
    if (req.get('content-encoding') && req.get('content-encoding') !== 'identity') {
      sendProblem(res, 'unsupported-media-type', 'Streams are not compressed; send identity.');
      return;
    }
    res.status(200).type('application/x-ndjson');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Accel-Buffering', 'no');
    res.setHeader('X-Intake-Instance', deps.instance);
    res.flushHeaders();
    let ended = false;
    const source = typeof res.locals.source === 'string' ? res.locals.source : deps.defaultSource;
    const session = new StreamSession({
      sink: deps.sink,
      source,
      admit: quotaOf(deps.sources, source),
      meta: { requestId: req.get('x-request-id'), ip: req.ip, userAgent: req.get('user-agent') },
      limits: deps.limits,
      logger: log,
      onAccepted: deps.onAccepted,
      onRejected: deps.onRejected,
      transport: {
        send: (message) => {
          if (!ended) res.write(`${JSON.stringify(message)}\n`);
        },
        pause: () => req.pause(),
        resume: () => req.resume(),
        close: () => {
          ended = true;
          res.end();
          req.resume(); // the rest of the upload is read and ignored
        },
      },
    });
    const maxLine = deps.limits.maxEventBytes + FRAME_OVERHEAD;
    let carry = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      if (ended) return;
      const text = carry + chunk;
      const lastNewline = text.lastIndexOf('\n');
      carry = lastNewline < 0 ? text : text.slice(lastNewline + 1);
      if (lastNewline >= 0 && text.slice(0, lastNewline).trim() !== '') {
        session.receive(text.slice(0, lastNewline));
      }
      if (Buffer.byteLength(carry) > maxLine) {
        session.close();
        res.write(
          `${JSON.stringify({ error: 'bad-frame', detail: `a line is longer than ${maxLine} bytes`, ack: session.ack })}\n`,
        );
        ended = true;
        res.end();
        req.resume();
      }
    });
    req.on('end', () => {
      if (ended) return;
      if (carry.trim() !== '') session.receive(carry);
      void session.settled().then(() => {
        if (ended) return;
        ended = true;
        res.end(`${JSON.stringify({ done: true, ack: session.ack, ...session.counts })}\n`);
      });
    });
    res.on('close', () => session.close());
  };
}
