/** The answers of lookups that stop at the first unavailable one. */
export interface AskedWhileAvailable<A> {
  /** By the items' positions; undefined where an item was not asked. */
  answers: Array<A | undefined>;
  /** Why the lookups stopped: the first unavailable answer's reason. */
  unavailable?: string;
}

/**
 * Asks about each item, `atOnce` at a time. After the first `{ unavailable }` answer nothing
 * more is asked (those in flight still finish): a host that cannot be reached costs one round
 * of timeouts, not one per item.
 */
export async function askWhileAvailable<T, A extends object>(
  items: readonly T[],
  ask: (item: T) => Promise<A | { unavailable: string }>,
  atOnce: number,
): Promise<AskedWhileAvailable<A | { unavailable: string }>> {
  const answers: Array<A | { unavailable: string } | undefined> = items.map(() => undefined);
  let next = 0;
  let unavailable: string | undefined;
  const lane = async () => {
    while (unavailable === undefined && next < items.length) {
      const i = next++;
      const answer = await ask(items[i]!);
      answers[i] = answer;
      if ('unavailable' in answer && typeof answer.unavailable === 'string') unavailable ??= answer.unavailable;
    }
  };
  await Promise.all(Array.from({ length: Math.min(atOnce, items.length) }, lane));
  return { answers, ...(unavailable !== undefined ? { unavailable } : {}) };
}
