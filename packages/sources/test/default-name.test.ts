import { describe, expect, it } from 'vitest';
import { defaultName, SourceError } from '../src/index.js';

describe('defaultName', () => {
  it('is the file name without its last extension', () => {
    expect(defaultName('sdxl_vae.safetensors')).toBe('sdxl_vae');
    expect(defaultName('model.v2.fp16.safetensors')).toBe('model.v2.fp16');
    expect(defaultName('水彩画 Watercolor.safetensors')).toBe('水彩画 Watercolor');
    expect(defaultName('README')).toBe('README');
  });

  it.each(['.safetensors', 'x..safetensors', 'constructor.bin', `${'a'.repeat(201)}.pt`])(
    'asks for a name when %j gives none that is valid',
    (fileName) => {
      expect(() => defaultName(fileName)).toThrow(SourceError);
      try {
        defaultName(fileName);
      } catch (err) {
        expect((err as SourceError).code).toBe('INVALID_REQUEST');
        expect((err as SourceError).details).toEqual({ field: 'name' });
        expect((err as SourceError).message).toMatch(/^name is required/);
      }
    },
  );
});
