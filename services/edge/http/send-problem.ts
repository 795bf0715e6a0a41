/**
 * Answers with an RFC 9457 problem document.
 */
import type { Response } from 'express';
import { PROBLEM_CONTENT_TYPE, problem } from '../../../lib/http/problem';
import type { ProblemType } from '../../../lib/http/problem';

export function sendProblem(
  res: Response,
  type: ProblemType,
  detail: string,
  extensions: Record<string, unknown> = {},
  retryAfterSeconds?: number,
): void {
  const body = problem(type, detail, extensions);
  if (retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(retryAfterSeconds));
  res.status(body.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}
