/**
 * UUIDv7 (RFC 9562) for event ids made in the browser: 48-bit Unix milliseconds, then
 * random bits, so ids sort by the time they were tracked (the IndexedDB store returns
 * the queue in that order).
 */
export function uuidv7(now: number, fill: (bytes: Uint8Array<ArrayBuffer>) => void): string {
  const b = new Uint8Array(16);
  fill(b);
  for (let i = 0; i < 6; i++) b[i] = Math.floor(now / 2 ** (8 * (5 - i))) & 0xff;
  b[6] = 0x70 | (b[6]! & 0x0f);
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
