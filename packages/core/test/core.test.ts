import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  contentDispositionFileName,
  fileStem,
  loadConfig,
  modelFilePath,
  nameProblem,
  parseFailedReason,
  pickExtension,
  redactUrl,
  ModelFetchError,
  splitUrlToken,
  withUrlToken,
} from '@model-manager/core';

describe('model names', () => {
  const { input } = JSON.parse(
    readFileSync(new URL('../../../test/fixtures/old-module-example-request.json', import.meta.url), 'utf8'),
  );
  const realNames: string[] = input.loras.map((lora: { name: string }) => lora.name);
  it.each([
    ...realNames,
    'sdxl base 1.0',
    'a',
    'my_lora-v2',
    'x'.repeat(200),
    'é'.repeat(100),
    'A.B.C',
    'a..b',
    'naïve',
    'a:b',
    '한국어 스타일',
    '🎨 art',
  ])('accepts %j', (name) => {
    expect(nameProblem(name)).toBeNull();
  });
  it.each([
    ['', /1-200 bytes/],
    ['x'.repeat(201), /201/],
    ['é'.repeat(101), /202/],
    ['.hidden', /start with "."/],
    ['.', /start with "."/],
    ['..', /start with "."/],
    ['a/b', /"\/"/],
    ['a\\b', /"\\"/],
    ['a\u0000', /control/],
    ['tab\there', /control/],
    ['new\nline', /control/],
    ['c1\u0085', /control/],
    ['half \ud800', /surrogate/],
    ['trailing ', /end with a space or a dot/],
    ['v2.', /end with a space or a dot/],
    ['__proto__', /reserved/],
    ['constructor', /reserved/],
    ['toString', /reserved/],
  ])('refuses %j, saying why', (name, why) => {
    expect(nameProblem(name)).toMatch(why);
  });
  it('never builds a path outside the kind folder', () => {
    expect(modelFilePath('/vol', 'lora', 'x', '.pt')).toBe('/vol/loras/x.pt');
    expect(() => modelFilePath('/vol', 'lora', '../x', '.pt')).toThrow(/invalid model name/);
    expect(() => modelFilePath('/vol', 'lora', 'x', '.exe')).toThrow(/extension/);
  });
});

describe('file extension', () => {
  it('prefers a model extension from Content-Disposition, then the URL paths, else .safetensors', () => {
    expect(pickExtension(['https://civitai.example/api/download/models/1'], 'attachment; filename="thing.ckpt"')).toBe(
      '.ckpt',
    );
    expect(pickExtension(['https://h/x'], "attachment; filename*=UTF-8''na%C3%AFve.PTH")).toBe('.pth');
    expect(pickExtension(['https://signed.example/blob/abc.bin?X-Sig=1', 'https://h/x'], null)).toBe('.bin');
    expect(pickExtension(['https://h/final', 'https://h/model.pt'], 'inline; filename="readme.txt"')).toBe('.pt');
    expect(pickExtension(['https://h/x.zip'], null)).toBe('.safetensors');
  });
  it('reads both Content-Disposition forms', () => {
    expect(contentDispositionFileName('attachment; filename=plain.pt')).toBe('plain.pt');
    expect(contentDispositionFileName('attachment; filename="q.safetensors"; size=3')).toBe('q.safetensors');
    expect(contentDispositionFileName(undefined)).toBeNull();
  });
  it('names a LoRA by its file name without extension', () => {
    expect(fileStem('/v/loras/alpha.v2.safetensors')).toBe('alpha.v2');
  });
});

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      REDIS_URL: 'redis://127.0.0.1:6379',
      PORT: 3000,
      HOST: '127.0.0.1',
      WORKER_CONCURRENCY: 2,
      DOWNLOAD_IDLE_TIMEOUT: 300,
      SHUTDOWN_GRACE_SECONDS: 30,
      LOG_LEVEL: 'info',
      redisUrlIsDefault: true,
    });
    expect(config.modelsDir).toMatch(/\/data\/models$/);
  });
  it('refuses bad values with one message listing every bad variable', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'http', WORKER_CONCURRENCY: '0', LOG_LEVEL: 'loud', REDIS_URL: 'localhost:6379' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ['PORT', 'WORKER_CONCURRENCY', 'LOG_LEVEL', 'REDIS_URL']) expect(message).toContain(name);
  });
});

describe('secrets and error codes', () => {
  it('cuts ?token= out of a URL leaving the rest of the query byte for byte, and puts it back the same way', () => {
    expect(splitUrlToken('https://h/x?a=b:c&token=t%2Fq&z=%20y')).toEqual({
      url: 'https://h/x?a=b:c&z=%20y',
      token: 't/q',
    });
    expect(splitUrlToken('https://h/x?type=Model')).toEqual({ url: 'https://h/x?type=Model' });
    expect(withUrlToken('https://h/x?a=b:c&z=%20y', 't/q')).toBe('https://h/x?a=b:c&z=%20y&token=t%2Fq');
  });

  it('hides query values and credentials in logged URLs', () => {
    const red = redactUrl('https://user:pw@civitai.example/api/download/1?token=abc123&type=Model');
    expect(red).not.toContain('abc123');
    expect(red).not.toContain('pw');
    expect(red).toContain('civitai.example/api/download/1');
  });
  it('round-trips a failure reason with its code and HTTP status', () => {
    const err = new ModelFetchError('HTTP_ERROR', 'HTTP 403 from https://h/x', { retryable: false, status: 403 });
    expect(parseFailedReason(err.toReason())).toEqual({
      code: 'HTTP_ERROR',
      message: 'HTTP 403 from https://h/x',
      status: 403,
    });
    expect(parseFailedReason('something odd')).toEqual({ code: 'INTERNAL', message: 'something odd' });
    expect(parseFailedReason('job stalled more than allowable limit').code).toBe('STALLED');
  });
});
