/**
 * A route of an SDK's protocol, as the app registers it: `before` runs ahead of the API
 * key check (reading the body, which may carry the key), `handler` after it (absent: the
 * route is open, `before` answers).
 */
import type { RequestHandler } from 'express';

export interface SdkRoute {
  method: 'get' | 'post';
  path: string;
  before: RequestHandler[];
  handler?: RequestHandler;
}
