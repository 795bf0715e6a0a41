/**
 * The OpenAPI document in docs/openapi.json describes what the edge really answers: real
 * responses of the app (in-memory sink, fake views and replies) are validated against the
 * document's schemas for their path, method and status.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { createRegistry } from '../../../lib/metrics';
import { projectRoot } from '../../../lib/paths';
import type { Reply } from '../../../lib/records/reply';
import { parseApiKeys } from '../../../services/edge/http/auth';
import { createEdgeMetrics } from '../../../services/edge/metrics';
import { encodeReceipt } from '../../../services/edge/views/receipt';
import { MemorySink } from '../../support/fakes';
import { startTestApp } from '../../support/edge-app';

type Spec = {
  paths: Record<
    string,
    Record<
      string,
      { responses: Record<string, { $ref?: string; content?: Record<string, { schema: object }> }> }
    >
  >;
  components: { responses: Record<string, { content: Record<string, { schema: object }> }> };
};
const spec = JSON.parse(readFileSync(join(projectRoot(), 'docs', 'openapi.json'), 'utf8')) as Spec;
const ajv = new Ajv2020({ strict: false, validateFormats: false });
ajv.addSchema(spec, 'openapi');

const view = <T>(entries: Record<string, T>) => ({
  isCaughtUp: true,
  get: (k: string) => entries[k],
});

describe('OpenAPI document vs the implementation', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const started = await startTestApp({
      sink: new MemorySink(),
      metrics: createEdgeMetrics(createRegistry('edge', 'oa'), { inFlightBytes: () => 0 }),
      instance: 'edge-oa',
      maxBodyBytes: 4096,
      maxEventsPerRequest: 10,
      defaultSource: 'd',
      auth: {
        required: true,
        keys: parseApiKeys(['web:k1']),
        rateLimit: { perSecond: 1000, burst: 1000 },
      },
      lookups: {
        rawTopic: 'intake.raw',
        progress: view({
          'intake.raw/0': {
            topic: 'intake.raw',
            partition: 0,
            worker: 'w1',
            committedNext: '10',
            deliveredUpTo: '5',
            at: 'now',
          },
        }),
        scores: view({
          v1: {
            visitorId: 'v1',
            score: 0.5,
            counts: { pageViews: 1, productViews: 0, carts: 0, checkouts: 0 },
            updatedAt: 'now',
            partition: 0,
            offset: '3',
          },
        }),
      },
      respond: {
        instance: 'edge-oa',
        timeoutMs: 20,
        replies: {
          isRunning: true,
          cancel: () => undefined,
          expect: (id: string) =>
            Promise.resolve<Reply | null>(
              id === 'slow'
                ? null
                : {
                    id,
                    replyTo: 'edge-oa',
                    outcome: 'processed',
                    result: { id },
                    position: { topic: 'intake.processed', partition: 1, offset: '3' },
                    at: '',
                  },
            ),
        },
      },
    });
    server = started.server;
    base = `${started.base}`;
  });
  afterAll(async () => new Promise((r) => server.close(r)));

  const key = { authorization: 'Bearer k1' };
  const json = { 'content-type': 'application/json', ...key };
  const cases: [string, string, string, RequestInit][] = [
    ['post', '/v1/events', '', { method: 'POST', headers: json, body: '{"type":"a","key":"v"}' }],
    [
      'post',
      '/v1/events',
      '',
      { method: 'POST', headers: json, body: '[{"type":"a"},{"nope":1}]' },
    ],
    [
      'post',
      '/v1/events',
      '?wait=processed',
      { method: 'POST', headers: json, body: '{"type":"a"}' },
    ],
    [
      'post',
      '/v1/events',
      '?wait=processed',
      { method: 'POST', headers: json, body: '{"type":"a","id":"slow"}' },
    ],
    ['post', '/v1/events', '?ack=none', { method: 'POST', headers: json, body: '{"type":"a"}' }],
    ['post', '/v1/events', '', { method: 'POST', headers: json, body: '{bad' }],
    [
      'post',
      '/v1/events',
      '',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"a"}' },
    ],
    [
      'post',
      '/v1/events',
      '',
      { method: 'POST', headers: { ...json, authorization: 'Bearer no' }, body: '{"type":"a"}' },
    ],
    [
      'post',
      '/v1/events',
      '',
      {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ type: 'a', data: 'x'.repeat(5000) }),
      },
    ],
    [
      'post',
      '/v1/events',
      '',
      { method: 'POST', headers: { ...key, 'content-type': 'text/plain' }, body: 'x' },
    ],
    ['post', '/v1/events', '', { method: 'POST', headers: json, body: '{"nope":1}' }],
    ['get', '/v1/receipts/{receipt}', `/v1/receipts/${encodeReceipt(0, '3')}`, { headers: key }],
    ['get', '/v1/receipts/{receipt}', '/v1/receipts/garbage', { headers: key }],
    ['get', '/v1/visitors/{id}/score', '/v1/visitors/v1/score', { headers: key }],
    ['get', '/v1/visitors/{id}/score', '/v1/visitors/nobody/score', { headers: key }],
    ['get', '/healthz', '/healthz', {}],
    ['get', '/readyz', '/readyz', {}],
    ['get', '/openapi.json', '/openapi.json', {}],
  ];

  it.each(cases)('%s %s %s answers as documented', async (method, path, suffix, init) => {
    const url =
      path.includes('{') || !path.startsWith('/v1/events')
        ? `${base}${suffix}`
        : `${base}${path}${suffix}`;
    const res = await fetch(url, init);
    const documented = spec.paths[path]?.[method]?.responses[String(res.status)];
    expect(documented).toBeDefined();
    const response = documented!.$ref
      ? spec.components.responses[documented!.$ref.split('/').pop()!]!
      : documented!;
    if (!response.content) {
      expect(res.status).toBe(204);
      return;
    }
    const contentType = (res.headers.get('content-type') ?? '').split(';')[0]!;
    const media = response.content[contentType];
    expect(media).toBeDefined();
    const body: unknown = await res.json();
    // The schema is compiled where it sits in the registered document (a JSON pointer), so
    // its own refs resolve against the document.
    const escape = (part: string): string => part.replace(/~/g, '~0').replace(/\//g, '~1');
    const at = documented!.$ref
      ? `${documented!.$ref}/content/${escape(contentType)}/schema`
      : `#/paths/${escape(path)}/${method}/responses/${res.status}/content/${escape(contentType)}/schema`;
    const validate = ajv.compile({ $ref: `openapi${at}` });
    const valid = validate(body);
    expect(valid ? [] : validate.errors).toEqual([]);
  });
});
