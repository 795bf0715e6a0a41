/**
 * The edge's access log: 4xx/5xx are logged with the request id (nginx's X-Request-Id
 * when given), 2xx are not by default, and the id is echoed in the answer.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { startTestApp } from '../../support/edge-app';
import type { TestApp } from '../../support/edge-app';
import { MemorySink } from '../../support/fakes';
import { withoutApiKey } from '../../../services/edge/http/access-log';

describe('access log', () => {
  const lines: Record<string, unknown>[] = [];
  let app: TestApp;

  beforeAll(async () => {
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    app = await startTestApp({
      sink: new MemorySink(),
      logger: pino({ level: 'info' }, stream),
      accessLog: 'errors',
    });
  });
  afterAll(() => app.close());

  const post = (body: string, id?: string) =>
    fetch(`${app.base}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(id ? { 'x-request-id': id } : {}) },
      body,
    });

  it('logs a 4xx with its request id and echoes the id', async () => {
    const res = await post('{bad', 'req-from-nginx-1');
    expect(res.headers.get('x-request-id')).toBe('req-from-nginx-1');
    await new Promise((r) => setTimeout(r, 20));
    const line = lines.find(
      (l) => (l.req as { id?: string } | undefined)?.id === 'req-from-nginx-1',
    );
    expect(line).toMatchObject({ level: 40, module: 'access', res: { statusCode: 400 } });
  });

  it('does not log a 2xx by default, but still gives it an id', async () => {
    const before = lines.length;
    const res = await post('{"type":"fine","key":"v"}');
    expect(res.status).toBe(202);
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await new Promise((r) => setTimeout(r, 20));
    expect(lines.length).toBe(before);
  });

  it('never shows an API key given in the query', async () => {
    const res = await fetch(`${app.base}/v1/events?api_key=secret-key-1&ack=bad`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-with-key' },
      body: '{"type":"fine","key":"v"}',
    });
    expect(res.status).toBe(400);
    await new Promise((r) => setTimeout(r, 20));
    const line = lines.find((l) => (l.req as { id?: string } | undefined)?.id === 'req-with-key');
    expect((line?.req as { url: string }).url).toBe('/v1/events?api_key=[Redacted]&ack=bad');
    expect(JSON.stringify(lines)).not.toContain('secret-key-1');
  });

  it("never shows the write key of Segment's settings path", () => {
    expect(withoutApiKey('/v1/projects/secret-key-2/settings')).toBe(
      '/v1/projects/[Redacted]/settings',
    );
    expect(withoutApiKey('/v1/projects/secret-key-2/settings?x=1&api_key=k')).toBe(
      '/v1/projects/[Redacted]/settings?x=1&api_key=[Redacted]',
    );
    expect(withoutApiKey('/v1/events?ack=sync')).toBe('/v1/events?ack=sync');
  });
});
