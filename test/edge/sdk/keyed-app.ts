/**
 * The edge app with one API key and an in-memory sink, started before and closed after
 * the tests of the calling `describe`; `sink` is emptied before each test.
 */
import { parseApiKeys } from '../../../services/edge/http/auth';
import type { AppDeps } from '../../../services/edge/app';
import { MemorySink } from '../../support/fakes';
import { startTestApp } from '../../support/edge-app';
import type { TestApp } from '../../support/edge-app';

export function keyedApp(
  keyEntry: string,
  extra: Partial<AppDeps> = {},
): { sink: MemorySink; app: () => TestApp } {
  const sink = new MemorySink();
  let app: TestApp | undefined;
  beforeAll(async () => {
    app = await startTestApp({
      sink,
      maxBodyBytes: 1024 * 1024,
      auth: {
        required: true,
        keys: parseApiKeys([keyEntry]),
        rateLimit: { perSecond: 1000, burst: 1000 },
      },
      ...extra,
    });
  });
  afterAll(() => app?.close());
  beforeEach(() => sink.stored.splice(0));
  return { sink, app: () => app! };
}
