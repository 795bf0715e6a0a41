/**
 * The compressed size of an encoded (`Content-Encoding`) request body, for the
 * decompression-ratio guard (ingest/body.ts), counted as the body reader reads it: a
 * chunked body declares no `Content-Length`, and the guard must hold for it too (else only
 * the inflated-size limit would stand against a gzip bomb).
 */
import type { Request, RequestHandler } from 'express';

const COUNTED = Symbol('encodedBytes');

interface Counted {
  [COUNTED]?: { bytes: number };
}

/**
 * `reader` (express.raw with `inflate`), counting the encoded bytes it reads. The count
 * starts once the reader has piped the request into its decompressor: that happens in the
 * reader's synchronous part, before any byte is delivered, so no byte is missed.
 */
export function countingEncodedBytes(reader: RequestHandler): RequestHandler {
  return (req, res, next) => {
    reader(req, res, next);
    const counted = req as Request & Counted;
    if (!req.headers['content-encoding'] || counted[COUNTED] || req.listenerCount('data') === 0)
      return;
    const count = { bytes: 0 };
    counted[COUNTED] = count;
    req.on('data', (chunk: Buffer) => {
      count.bytes += chunk.length;
    });
  };
}

/**
 * The compressed length of an encoded body: as counted while it was read, else as
 * declared (`Content-Length`); null for a body that is not encoded.
 */
export function encodedLength(req: Request): number | null {
  if (!req.headers['content-encoding']) return null;
  const counted = (req as Request & Counted)[COUNTED];
  if (counted) return counted.bytes;
  const declared = Number(req.headers['content-length']);
  return declared > 0 ? declared : null;
}
