import { Deduplicator, eventId } from '../../lib/dedup';

describe('Deduplicator', () => {
  it('passes each id once and counts the duplicates', () => {
    const d = new Deduplicator(100);
    const ids = ['a', 'b', 'a', 'c', 'b', 'a'];
    expect(ids.filter((id) => d.firstTime(id))).toEqual(['a', 'b', 'c']);
    expect(d.duplicateCount).toBe(3);
  });

  it('keeps memory bounded to the window', () => {
    const d = new Deduplicator(10);
    for (let i = 0; i < 1000; i++) d.firstTime(`id-${i}`);
    expect(d.size).toBe(10);
    expect(d.firstTime('id-999')).toBe(false);
    expect(d.firstTime('id-0')).toBe(true); // long out of the window
  });
});

describe('eventId', () => {
  it('reads the header first, then the value', () => {
    expect(eventId({ 'intake-id': Buffer.from('h1') }, Buffer.from('{"id":"v1"}'))).toBe('h1');
    expect(eventId({}, Buffer.from('{"id":"v1"}'))).toBe('v1');
    expect(eventId(undefined, Buffer.from('garbage'))).toBeNull();
  });
});
