/**
 * The request's visitor id, which keys events that name no `key` / `visitorId` /
 * `deviceId` so a visitor's later events land on the same partition: the `intake_vid`
 * cookie when it holds a valid id, else a new UUIDv7, made only when an event needs it and
 * then returned as a cookie (two years, HttpOnly, SameSite=Lax).
 */
import type { Request, Response } from 'express';
import { uuidv7 } from '../../../lib/uuid7';

export const VISITOR_COOKIE = 'intake_vid';
const VISITOR_COOKIE_MAX_AGE_MS = 2 * 365 * 24 * 3600 * 1000;
const VISITOR_ID = /^[A-Za-z0-9_-]{1,64}$/;
const COOKIE = new RegExp(`(?:^|;\\s*)${VISITOR_COOKIE}=([^;]+)`);

export class Visitor {
  private id: string | null;
  private readonly fresh: boolean;
  /** True once an event was keyed by this visitor. */
  used = false;

  constructor(req: Request) {
    const header = req.headers.cookie;
    const fromCookie = header ? COOKIE.exec(header)?.[1] : undefined;
    this.fresh = !(fromCookie && VISITOR_ID.test(fromCookie));
    this.id = this.fresh ? null : fromCookie!;
  }

  /** The key of an event that names none (for `WrapContext.defaultKey`). */
  readonly key = (): string => {
    this.used = true;
    return (this.id ??= uuidv7());
  };

  /** The id to return in the answer: only when an event used it. */
  get answeredId(): string | undefined {
    return this.used ? this.id! : undefined;
  }

  /** Sets the cookie when a new id was made for an event. */
  setCookie(res: Response): void {
    if (!this.used || !this.fresh) return;
    res.cookie(VISITOR_COOKIE, this.id!, {
      maxAge: VISITOR_COOKIE_MAX_AGE_MS,
      httpOnly: true,
      sameSite: 'lax',
      path: '/',
    });
  }
}
