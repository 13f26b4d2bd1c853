// The client's request and answer types are written out (so it installs without core or zod);
// these assertions, checked by `tsc -p tsconfig.test.json` in `npm test`, hold them equal to what
// the API itself accepts and answers, so a change to a schema fails here until the client follows.
import type { z } from 'zod';
import type * as core from '@model-manager/core';
import { describe, expectTypeOf, it } from 'vitest';
import { MODEL_KINDS } from '@model-manager/core';
import * as client from '../src/index.js';

describe('client types match the API', () => {
  it('requests: the input side of the API zod schemas', () => {
    expectTypeOf<client.ModelRefInput>().toEqualTypeOf<z.input<typeof core.modelRefSchema>>();
    // Written flat where zod nests intersections: the same shape, each accepted where the other is.
    expectTypeOf<client.PrepareRequest>().toExtend<z.input<typeof core.prepareRequestSchema>>();
    expectTypeOf<z.input<typeof core.prepareRequestSchema>>().toExtend<client.PrepareRequest>();
    expectTypeOf<client.BatchRequest>().toEqualTypeOf<z.input<typeof core.batchRequestSchema>>();
    expectTypeOf<client.CleanupRequest>().toEqualTypeOf<z.input<typeof core.cleanupRequestSchema>>();
    expectTypeOf<client.VerifyRequest>().toEqualTypeOf<z.input<typeof core.verifyRequestSchema>>();
  });

  it('answers: the API and worker types', () => {
    expectTypeOf<client.ModelKind>().toEqualTypeOf<core.ModelKind>();
    expectTypeOf<client.ErrorInfo>().toEqualTypeOf<core.ErrorInfo>();
    // `pinned` is optional in the client only, for APIs from before pinning.
    expectTypeOf<client.Model>().toExtend<Omit<core.Model, 'pinned'> & { pinned?: boolean }>();
    expectTypeOf<core.Model>().toExtend<client.Model>();
    expectTypeOf<keyof client.Model>().toEqualTypeOf<keyof core.Model>();
    expectTypeOf<client.VerifyResult>().toEqualTypeOf<core.VerifyResult>();
    expectTypeOf<client.ScanResult>().toEqualTypeOf<core.ScanResult>();
  });

  it('knows the kinds the API knows', ({ expect }) => {
    expect([...client.MODEL_KINDS]).toEqual([...MODEL_KINDS]);
  });
});
