import { describe, expect, it } from 'vitest';
import { askWhileAvailable } from '../src/maintenance/ask-while-available.js';

/** An ask that answers after `delayOf(n)` ms and counts how many are in flight at once. */
function counting(answerOf: (n: number) => object, delayOf: (n: number) => number = () => 5) {
  const state = { inFlight: 0, most: 0, asked: [] as number[] };
  const ask = async (n: number) => {
    state.asked.push(n);
    state.inFlight += 1;
    state.most = Math.max(state.most, state.inFlight);
    await new Promise((resolve) => setTimeout(resolve, delayOf(n)));
    state.inFlight -= 1;
    return answerOf(n) as { found: number } | { unavailable: string };
  };
  return { state, ask };
}

const items = Array.from({ length: 10 }, (_, i) => i);

describe('askWhileAvailable', () => {
  it('asks about every item, a few at a time, answers in the items’ order', async () => {
    const { state, ask } = counting((n) => ({ found: n * 2 }));
    const { answers, unavailable } = await askWhileAvailable(items, ask, 4);
    expect(answers).toEqual(items.map((n) => ({ found: n * 2 })));
    expect(unavailable).toBeUndefined();
    expect(state.most).toBe(4);
  });

  it('asks nothing more after the first unavailable answer; those in flight finish', async () => {
    // The second answers first: the other three already asked still finish.
    const { state, ask } = counting(
      (n) => (n === 1 ? { unavailable: 'offline' } : { found: n }),
      (n) => (n === 1 ? 0 : 20),
    );
    const { answers, unavailable } = await askWhileAvailable(items, ask, 4);
    expect(unavailable).toBe('offline');
    expect(state.asked).toEqual([0, 1, 2, 3]);
    expect(answers).toEqual([{ found: 0 }, { unavailable: 'offline' }, { found: 2 }, { found: 3 }, ...Array(6)]);
  });

  it('asks nothing about nothing', async () => {
    const { state, ask } = counting(() => ({ found: 1 }));
    expect(await askWhileAvailable([], ask, 4)).toEqual({ answers: [] });
    expect(state.asked).toEqual([]);
  });
});
