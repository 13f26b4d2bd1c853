import { describe, expect, it } from 'vitest';
import { parseBatchFile } from '../src/batch-file.js';
import { UsageError } from '../src/usage.js';

describe('prefetch FILE: JSON or a list of references', () => {
  it('reads KIND REF [NAME...] lines, names with spaces and #, skipping blank lines and comments', () => {
    const text = [
      '# nightly models',
      '',
      'lora civitai:135867',
      '  checkpoint   hf:stabilityai/sdxl-base/sd_xl_base_1.0.safetensors@main   SDXL  base 1.0  ',
      'lora urn:air:sdxl:lora:civitai:122359@135867 Café Noir #2',
      '\t# indented comment',
      'embedding https://h/files/neg.pt EasyNegative\r',
    ].join('\n');
    expect(parseBatchFile(text, 'list.txt')).toEqual([
      { kind: 'lora', source: 'civitai:135867' },
      {
        kind: 'checkpoint',
        name: 'SDXL  base 1.0',
        source: 'hf:stabilityai/sdxl-base/sd_xl_base_1.0.safetensors@main',
      },
      { kind: 'lora', name: 'Café Noir #2', source: 'urn:air:sdxl:lora:civitai:122359@135867' },
      { kind: 'embedding', name: 'EasyNegative', url: 'https://h/files/neg.pt' },
    ]);
  });

  it('names the file and line of a bad line', () => {
    const cases: Array<[string, RegExp]> = [
      ['lora civitai:1\nlora\n', /^list\.txt:2: expected KIND REF \[NAME\], got "lora"$/],
      ['# x\n\nvae civitai:1\n', /^list\.txt:3: KIND must be one of checkpoint, lora, embedding, not "vae"$/],
      ['lora detail-tweaker https://h/x\n', /^list\.txt:1: "detail-tweaker" is no REF \(an http\(s\):\/\/ URL, /],
      ['# only comments\n\n', /^list\.txt lists no models$/],
    ];
    for (const [text, message] of cases) {
      expect(() => parseBatchFile(text, 'list.txt')).toThrow(UsageError);
      expect(() => parseBatchFile(text, 'list.txt')).toThrow(message);
    }
  });

  it('reads JSON as before: a list of items or {items}, with a BOM or leading blanks', () => {
    const items = [{ kind: 'lora', source: 'civitai:1' }];
    expect(parseBatchFile(JSON.stringify(items), 'a.json')).toEqual(items);
    expect(parseBatchFile(`\uFEFF\n  ${JSON.stringify({ items })}`, 'b.json')).toEqual(items);
    expect(() => parseBatchFile('[{"kind": ', 'c.json')).toThrow(/^c\.json is not JSON: /);
    expect(() => parseBatchFile('{"models": []}', 'd.json')).toThrow(/must hold a JSON list of models/);
  });
});
