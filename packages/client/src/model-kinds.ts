import type { ModelKind } from './types.js';

/** The kinds the API knows, for callers that check input before sending it (core's list, without loading core). */
export const MODEL_KINDS = ['checkpoint', 'lora', 'embedding'] as const satisfies readonly ModelKind[];

export function isModelKind(value: string): value is ModelKind {
  return (MODEL_KINDS as readonly string[]).includes(value);
}
