import { fileStem } from '@model-manager/core';

/**
 * `<lora:NAME:SCALE>` for each prepared LoRA, in request order, then the prompt:
 * ([alpha 0.8, iota 1], "beautiful landscape") -> "<lora:alpha:0.8> <lora:iota:1.0> beautiful landscape".
 * NAME is the file name without its extension, which is what the WebUI matches. SCALE is written
 * as Python writes a float, so a handler moving from the Python module gets its prompts byte for byte.
 */
export function buildLoraPrompt(
  prompt: string | undefined,
  loras: ReadonlyArray<{ path: string; scale: number }>,
): string {
  const tags = loras.map((lora) => `<lora:${fileStem(lora.path)}:${pythonFloat(lora.scale)}>`);
  return [...tags, ...(prompt ? [prompt] : [])].join(' ');
}

/**
 * Python's `repr(float)`: the shortest digits that read back as the same number (as JavaScript
 * picks them), in fixed notation with at least one decimal for exponents -4..15, else `1e+16`/`1e-05`.
 */
export function pythonFloat(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (Object.is(value, -0)) return '-0.0';
  const [mantissa = '0', exp = '0'] = value.toExponential().split('e');
  const exponent = Number(exp);
  const sign = mantissa.startsWith('-') ? '-' : '';
  const digits = mantissa.replace(/^-/, '').replace('.', '');
  if (exponent < -4 || exponent >= 16) {
    const fraction = digits.length > 1 ? `.${digits.slice(1)}` : '';
    const expSign = exponent < 0 ? '-' : '+';
    return `${sign}${digits[0]}${fraction}e${expSign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  const fraction = digits.slice(exponent + 1);
  return `${sign}${whole}.${fraction || '0'}`;
}
