import fc from 'fast-check';
import { decodeReceipt, encodeReceipt, receiptStatus } from '../../../services/edge/views/receipt';

describe('receipts', () => {
  it('round-trips any partition and offset, and is opaque', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 999_999 }),
        fc.bigInt({ min: 0n, max: 2n ** 62n }),
        (p, o) => {
          const receipt = encodeReceipt(p, o.toString());
          expect(receipt).toMatch(/^r1[A-Za-z0-9_-]+$/);
          expect(decodeReceipt(receipt)).toEqual({ partition: p, offset: o });
        },
      ),
    );
  });

  it.each([
    '',
    'r1',
    'x1MC4x',
    'r1!!!',
    `r1${Buffer.from('a.b').toString('base64url')}`,
    `r1${'A'.repeat(100)}`,
  ])('refuses %p', (bad) => expect(decodeReceipt(bad)).toBeNull());

  it('derives queued / processed / delivered from the partition progress', () => {
    const progress = { committedNext: '100', deliveredUpTo: '90', at: '' };
    expect(receiptStatus({ partition: 0, offset: 120n }, progress)).toBe('queued');
    expect(receiptStatus({ partition: 0, offset: 100n }, progress)).toBe('queued');
    expect(receiptStatus({ partition: 0, offset: 95n }, progress)).toBe('processed');
    expect(receiptStatus({ partition: 0, offset: 89n }, progress)).toBe('delivered');
    expect(receiptStatus({ partition: 0, offset: 1n }, undefined)).toBe('queued');
  });
});
