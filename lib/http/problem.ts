/**
 * RFC 9457 problem details: every 4xx/5xx answer of Intake is `application/problem+json`
 * with a stable `type` URI, a `title`, and a `detail` that says what to do next.
 */

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const BASE = 'https://intake.dev/problems/';

export const PROBLEMS = {
  'malformed-json': { status: 400, title: 'The body is not valid JSON' },
  'bad-request': { status: 400, title: 'The request is not valid' },
  unauthorized: { status: 401, title: 'An API key is required' },
  forbidden: { status: 403, title: 'The API key may not do this' },
  'origin-not-allowed': { status: 403, title: "The origin is not one of the source's origins" },
  'not-found': { status: 404, title: 'No such resource' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'The resource exists already' },
  'position-gone': { status: 410, title: 'The resume position is no longer held' },
  'payload-too-large': { status: 413, title: 'The body is too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported content type or encoding' },
  'invalid-events': { status: 422, title: 'No event in the request is valid' },
  'rejected-by-rules': { status: 422, title: 'The business rules rejected the event' },
  'upgrade-required': { status: 426, title: 'This resource is a WebSocket' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  'quota-exceeded': { status: 429, title: "The source's quota is used up" },
  'internal-error': { status: 500, title: 'Internal error' },
  'kafka-unavailable': { status: 503, title: 'Events could not be made durable in time' },
  overloaded: { status: 503, title: 'The edge is overloaded' },
  'shutting-down': { status: 503, title: 'This instance is shutting down' },
  'processing-timeout': { status: 504, title: 'The event was not processed in time' },
} as const;

export type ProblemType = keyof typeof PROBLEMS;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  [extension: string]: unknown;
}

export function problem(
  type: ProblemType,
  detail: string,
  extensions: Record<string, unknown> = {},
): Problem {
  const { status, title } = PROBLEMS[type];
  return { type: `${BASE}${type}`, title, status, detail, ...extensions };
}
