import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../src/args.js';
import { fetchRequest } from '../src/commands/fetch-args.js';
import { UsageError } from '../src/usage.js';

const request = (...argv: string[]) => fetchRequest(parseCommandLine(['fetch', ...argv]));

describe('fetch KIND REF [--name NAME] and fetch KIND NAME URL', () => {
  it('sends a reference as source, with the name left to the host unless --name gives one', () => {
    expect(request('lora', 'civitai:135867')).toEqual({ kind: 'lora', source: 'civitai:135867' });
    expect(request('lora', 'urn:air:sdxl:lora:civitai:122359@135867', '--name', 'Detail Tweaker XL')).toEqual({
      kind: 'lora',
      name: 'Detail Tweaker XL',
      source: 'urn:air:sdxl:lora:civitai:122359@135867',
    });
    expect(
      request('checkpoint', 'hf:stabilityai/sdxl-vae/sdxl_vae.safetensors@main', '--sha256', 'A'.repeat(64)),
    ).toEqual({
      kind: 'checkpoint',
      source: 'hf:stabilityai/sdxl-vae/sdxl_vae.safetensors@main',
      sha256: 'A'.repeat(64),
    });
  });

  it('sends a URL as url, with mirrors', () => {
    expect(
      request('embedding', 'https://h/neg.pt', '--mirror', 'https://m1/neg.pt', '--mirror', 'https://m2/neg.pt'),
    ).toEqual({ kind: 'embedding', url: 'https://h/neg.pt', mirrors: ['https://m1/neg.pt', 'https://m2/neg.pt'] });
  });

  it('keeps the three-argument form: NAME then URL (or a reference)', () => {
    expect(request('lora', 'Hand Detail', 'https://h/x.safetensors')).toEqual({
      kind: 'lora',
      name: 'Hand Detail',
      url: 'https://h/x.safetensors',
    });
    expect(request('lora', 'detail', 'civitai:135867')).toEqual({
      kind: 'lora',
      name: 'detail',
      source: 'civitai:135867',
    });
    // Neither a URL nor a reference: sent as the URL, for the API to name what is wrong.
    expect(request('lora', 'x', 'ftp://x/y')).toEqual({ kind: 'lora', name: 'x', url: 'ftp://x/y' });
    expect(request('lora', 'x', 'nonsense')).toEqual({ kind: 'lora', name: 'x', url: 'nonsense' });
  });

  it('refuses what cannot be meant, naming it', () => {
    const cases: Array<[string[], RegExp]> = [
      [['lora', 'x'], /^fetch: missing URL or reference: "x" is neither/],
      [['lora'], /^fetch: missing REF$/],
      [[], /^fetch: missing KIND REF$/],
      [['vae', 'civitai:1'], /KIND must be one of checkpoint, lora, embedding, not "vae"/],
      [['lora', 'n', 'https://h/x', 'extra'], /^fetch: unexpected argument "extra"$/],
      [['lora', 'n', 'https://h/x', '--name', 'm'], /the name is given twice/],
      [['lora', 'civitai:1', '--refetch'], /fetch does not take --refetch/],
    ];
    for (const [argv, message] of cases) {
      expect(() => request(...argv), argv.join(' ')).toThrow(UsageError);
      expect(() => request(...argv)).toThrow(message);
    }
  });
});
