import { fileStem } from '@model-manager/core';

/**
 * `<lora:NAME:SCALE>` for each prepared LoRA, in request order, then the prompt:
 * ([alpha 0.8, iota 0.5], "beautiful landscape") -> "<lora:alpha:0.8> <lora:iota:0.5> beautiful landscape".
 * NAME is the file name without its extension, which is what the WebUI matches.
 */
export function buildLoraPrompt(prompt: string | undefined, loras: ReadonlyArray<{ path: string; scale: number }>): string {
  const tags = loras.map((lora) => `<lora:${fileStem(lora.path)}:${lora.scale}>`);
  return [...tags, ...(prompt ? [prompt] : [])].join(' ');
}
