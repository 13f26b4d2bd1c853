import { describe, expect, it } from 'vitest';
import { parseRegistry, serializeRegistry, unreadableEntries, unixSecondsSchema } from '@model-manager/registry';

const good = {
  url: 'https://x/1',
  path: '/workspace/models/loras/a.safetensors',
  hash: 'ab',
  downloaded_at: 100,
  last_used: 200,
  usage_count: 2,
  file_size: 10,
};
const parse = (value: unknown) => {
  const result = parseRegistry(JSON.stringify(value));
  if (result.status !== 'ok') throw new Error(`${result.status}: ${'reason' in result ? result.reason : ''}`);
  return result.data;
};

describe('the registry schema', () => {
  it('reads dates written as ISO 8601 strings as the Unix seconds they mean', () => {
    const at = Date.parse('2024-11-27T08:00:00Z') / 1000;
    expect(unixSecondsSchema.parse('2024-11-27T08:00:00Z')).toBe(at);
    expect(unixSecondsSchema.parse('2024-11-27T09:00:00+01:00')).toBe(at);
    expect(unixSecondsSchema.parse('2024-11-27T08:00:00.250Z')).toBe(at + 0.25);
    // Without a zone: UTC, the same on every host.
    expect(unixSecondsSchema.parse('2024-11-27T08:00:00')).toBe(at);
    expect(unixSecondsSchema.parse('2024-11-27 08:00:00.5')).toBe(at + 0.5);
    expect(unixSecondsSchema.parse('2024-11-27')).toBe(at - 8 * 3600);
    expect(unixSecondsSchema.parse(' 1732694400.5 ')).toBe(1732694400.5);
    expect(unixSecondsSchema.parse(1732694400.5)).toBe(1732694400.5);
    for (const bad of ['yesterday', 'Nov 27 2024', '', -1, '2024-13-45T99:00:00Z'])
      expect(unixSecondsSchema.safeParse(bad).success).toBe(false);
  });

  it('reads numbers written as strings, and fills the fields an entry leaves out', () => {
    const data = parse({
      loras: {
        a: { ...good, usage_count: '7', file_size: ' 10 ' },
        b: { path: '/p/b.pt', file_size: 3, url: null, last_used: null },
      },
    });
    expect(data.loras.a).toEqual({ ...good, usage_count: 7, file_size: 10 });
    expect(data.loras.b).toEqual({
      path: '/p/b.pt',
      file_size: 3,
      url: '',
      hash: '',
      downloaded_at: 0,
      last_used: 0,
      usage_count: 0,
    });
    expect(data.checkpoints).toEqual({});
  });

  it('sets apart an entry that still makes no sense, saying why, and writes it back as it was', () => {
    const broken = { path: 42, file_size: 'lots', downloaded_at: 'yesterday' };
    const data = parse({
      loras: { a: good, broken, half: { ...good, file_size: 1.5 } },
      checkpoints: { text: 'not an entry' },
    });
    expect(Object.keys(data.loras)).toEqual(['a']);
    const unreadable = unreadableEntries(data);
    expect(unreadable.map((u) => `${u.kind}/${u.name}`)).toEqual(['checkpoint/text', 'lora/broken', 'lora/half']);
    expect(unreadable.find((u) => u.name === 'broken')?.reason).toMatch(/path.*file_size.*downloaded_at|path/);
    const written = JSON.parse(serializeRegistry(data));
    expect(written.loras.broken).toEqual(broken);
    expect(written.checkpoints.text).toBe('not an entry');
    // A real entry under the same name replaces it.
    data.loras.broken = { ...good };
    expect(JSON.parse(serializeRegistry(data)).loras.broken).toEqual(good);
    expect(unreadableEntries(data).map((u) => u.name)).toEqual(['text', 'half']);
  });

  it('keeps unknown fields and top-level keys exactly as written', () => {
    const file = {
      loras: { a: { ...good, civitai: { id: 5, tags: ['x'] }, note: '2024-11-27T08:00:00Z', pinned: true } },
      webui: { steps: '30' },
      last_updated: 5,
    };
    const written = JSON.parse(serializeRegistry(parse(file)));
    expect(written.loras.a).toEqual(file.loras.a);
    expect(written.webui).toEqual({ steps: '30' });
  });

  it('calls only text that is not JSON, or a top level or section that is not an object, corrupt', () => {
    expect(parseRegistry('').status).toBe('corrupt');
    expect(parseRegistry('{"loras": {"a"').status).toBe('corrupt');
    expect(parseRegistry('[]').status).toBe('corrupt');
    expect(parseRegistry('{"loras": []}')).toMatchObject({
      status: 'corrupt',
      reason: expect.stringContaining('loras'),
    });
    expect(parseRegistry('{"last_updated": "soon"}').status).toBe('ok');
  });
});
