import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildLoraPrompt, pythonFloat } from '../src/services/prompt.js';

const samples = [
  1,
  3,
  0.3,
  1.25,
  0.8,
  0.1 + 0.2,
  -0.5,
  0,
  -0,
  2.5e-5,
  0.0001,
  1e16,
  123456789012345.6,
  1e22,
  -7,
  1 / 3,
  5e-324,
  Number.MAX_VALUE,
];

describe('pythonFloat', () => {
  it.each([
    [1, '1.0'],
    [3, '3.0'],
    [0.3, '0.3'],
    [1.25, '1.25'],
    [-2, '-2.0'],
    [0.1 + 0.2, '0.30000000000000004'],
    [1e16, '1e+16'],
    [2.5e-5, '2.5e-05'],
    [0.0001, '0.0001'],
  ])('writes %d as Python does: %s', (value, expected) => {
    expect(pythonFloat(value)).toBe(expected);
  });

  it('agrees with the python3 on this machine for every sample', () => {
    const script = `import json,sys\nprint(json.dumps([repr(float(x)) for x in json.loads(sys.stdin.read())]))`;
    // -0 does not survive JSON: Python is given 0 and the sign is checked above.
    const values = samples.map((v) => (Object.is(v, -0) ? 0 : v));
    const python = JSON.parse(
      execFileSync('python3', ['-c', script], { input: JSON.stringify(values), encoding: 'utf8' }),
    ) as string[];
    expect(values.map(pythonFloat)).toEqual(python);
  });
});

describe('buildLoraPrompt', () => {
  it('puts one tag per LoRA, file stem and Python-style scale, before the prompt', () => {
    const loras = [
      { path: '/v/loras/Hand Detail FLUX & XL.safetensors', scale: 1 },
      { path: '/v/loras/Amateur style - slider (Pony).safetensors', scale: 0.3 },
    ];
    expect(buildLoraPrompt('a cat', loras)).toBe(
      '<lora:Hand Detail FLUX & XL:1.0> <lora:Amateur style - slider (Pony):0.3> a cat',
    );
    expect(buildLoraPrompt(undefined, [])).toBe('');
  });
});
