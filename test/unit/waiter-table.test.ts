import { WaiterTable } from '../../lib/client/waiter-table';

describe('WaiterTable', () => {
  test('stores, finds and removes entries by id', () => {
    const t = new WaiterTable<string>();
    t.set(1, 'a');
    t.set(2, 'b');
    expect(t.get(1)).toBe('a');
    expect(t.has(2)).toBe(true);
    expect(t.size).toBe(2);
    expect(t.delete(1)).toBe('a');
    expect(t.delete(1)).toBeUndefined();
    expect(t.get(1)).toBeUndefined();
    expect(t.size).toBe(1);
    t.set(2, 'c');
    expect(t.get(2)).toBe('c');
    expect(t.size).toBe(1);
  });

  test('keeps every entry when live ids share slots: the ring grows, then overflows into a Map', () => {
    const t = new WaiterTable<number>();
    // One entry pinned (a query with a long timeout) while 300,000 ids go by, 2,000 in flight:
    // ids 1 + k * 65536 land in the pinned entry's slot at every size of the ring.
    t.set(1, 1);
    const live: number[] = [];
    let wrongDeletes = 0;
    for (let id = 2; id < 300_000; id++) {
      t.set(id, id);
      live.push(id);
      if (live.length > 2000) {
        const old = live.shift() as number;
        if (t.delete(old) !== old) wrongDeletes++;
      }
    }
    expect(wrongDeletes).toBe(0);
    expect(t.get(1)).toBe(1);
    for (const id of live) expect(t.get(id)).toBe(id);
    expect(t.size).toBe(live.length + 1);
  });

  test('takeAll empties the table and returns the entries in id order', () => {
    const t = new WaiterTable<string>();
    for (const id of [5, 1, 1025, 3]) t.set(id, `e${id}`);
    expect(t.takeAll()).toEqual([
      [1, 'e1'],
      [3, 'e3'],
      [5, 'e5'],
      [1025, 'e1025'],
    ]);
    expect(t.size).toBe(0);
    expect(t.get(1025)).toBeUndefined();
    t.set(7, 'x');
    expect(t.get(7)).toBe('x');
  });

  test('ids near the wrap-around of the client counter', () => {
    const t = new WaiterTable<number>();
    for (const id of [0xffffffef, 0xfffffff0, 1, 2]) t.set(id, id);
    for (const id of [0xffffffef, 0xfffffff0, 1, 2]) expect(t.delete(id)).toBe(id);
    expect(t.size).toBe(0);
  });
});
