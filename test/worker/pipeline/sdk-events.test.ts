/**
 * What the SDK routes map (Segment's calls, Snowplow's events) passes the default
 * pipeline's schemas even when types without a schema go to the DLQ: the SDKs' events
 * land in intake.processed, not intake.dlq.
 */
import { wrapEvent } from '../../../lib/envelope';
import type { Envelope } from '../../../lib/envelope';
import { mapSegmentMessage } from '../../../services/edge/sdk/segment/mapping';
import { mapSnowplowPayload } from '../../../services/edge/sdk/snowplow/mapping';
import type { Mapped } from '../../../services/edge/sdk/store-mapped';
import { pipelineDefaults } from '../../../services/worker/pipeline/config';
import { loadSchemas, validateStep } from '../../../services/worker/pipeline/steps/validate-step';

const ctx = { topic: 'intake.raw', partition: 0, offset: '1', emit: () => undefined };

function envelope(mapped: Mapped): Envelope {
  if (!mapped.ok) throw new Error(mapped.reason);
  const r = wrapEvent(mapped.event, {
    source: 's',
    pattern: 'request-ack',
    receivedAt: new Date(),
    meta: {},
  });
  if (!r.ok) throw new Error(r.reason);
  return r.envelope;
}

describe('SDK events in the default pipeline', () => {
  const step = validateStep({
    schemas: loadSchemas(pipelineDefaults.schemasDir),
    unknownTypes: 'dlq',
  });

  it.each([
    ['identify', { userId: 'u', traits: { plan: 'pro' } }],
    ['page', { userId: 'u', name: 'Home', properties: { path: '/home' } }],
    ['screen', { userId: 'u', name: 'Home' }],
    ['group', { userId: 'u', groupId: 'g-1' }],
    ['alias', { userId: 'u', previousId: 'a' }],
  ] as const)('passes a Segment %s', (call, message) => {
    const e = envelope(mapSegmentMessage({ ...message, type: call }));
    expect(step.run(e, ctx)).toMatchObject({ kind: 'ok' });
  });

  it.each([
    ['page_view', { e: 'pv', url: 'https://shop.example/a' }],
    ['page_ping', { e: 'pp', url: 'https://shop.example/a' }],
    ['struct', { e: 'se', se_ca: 'shop', se_ac: 'add' }],
  ])('passes a Snowplow %s', (type, payload) => {
    const e = envelope(mapSnowplowPayload({ ...payload, eid: 'e', duid: 'd' }));
    expect(e.type).toBe(type);
    expect(step.run(e, ctx)).toMatchObject({ kind: 'ok' });
  });
});
