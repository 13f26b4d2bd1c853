import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema } from '@model-manager/core';

const page = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
const documented = new Set([...page.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]));

describe('docs/configuration.md', () => {
  it('has a row for every setting the schema reads, and none it does not', () => {
    const settings = Object.keys(configSchema.shape);
    expect(settings.filter((key) => !documented.has(key))).toEqual([]);
    expect([...documented].filter((key) => !settings.includes(key!))).toEqual([]);
  });
});
