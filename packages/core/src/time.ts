/** Registry timestamps are Unix seconds (float), as the Python module wrote them. */
export const nowSeconds = (): number => Date.now() / 1000;
export const secondsToIso = (seconds: number): string => new Date(Math.round(seconds * 1000)).toISOString();
