// The client's request and answer types are written out (so it installs without core or zod);
// these assertions, checked by `tsc -p tsconfig.test.json` in `npm test`, hold them equal to what
// the API itself accepts and answers, so a change to a schema fails here until the client follows.
import type { z } from 'zod';
import type * as core from '@model-manager/core';
import { describe, expectTypeOf, it } from 'vitest';
import { MODEL_KINDS } from '@model-manager/core';
import type * as answers from '../../../apps/api/src/openapi/answer-schemas.js';
import * as client from '../src/index.js';

type Request = z.input<typeof core.modelRequestSchema>;
type Answer<S extends z.ZodType> = z.output<S>;

describe('client types match the API', () => {
  it('requests: the input side of the API zod schemas', () => {
    // The client says "url or source, not both", which the schema leaves to the resolver: every
    // client ref is a request the schema takes, with the same fields.
    expectTypeOf<client.ModelRefInput>().toExtend<Request>();
    expectTypeOf<keyof client.ModelRefInput>().toEqualTypeOf<keyof Request>();
    expectTypeOf<client.ModelRefInput['source']>().toEqualTypeOf<Request['source']>();
    expectTypeOf<client.ModelRefInput['name']>().toEqualTypeOf<Request['name']>();
    expectTypeOf<{ kind: 'lora'; source: string }>().toExtend<client.ModelRefInput>();
    expectTypeOf<{ kind: 'lora'; name: string; url: string }>().toExtend<client.ModelRefInput>();
    expectTypeOf<{ kind: 'lora'; name: string }>().not.toExtend<client.ModelRefInput>();
    expectTypeOf<{ kind: 'lora'; url: string; source: string }>().not.toExtend<client.ModelRefInput>();

    expectTypeOf<client.PrepareRequest>().toExtend<z.input<typeof core.prepareRequestSchema>>();
    type Lora = NonNullable<z.input<typeof core.prepareRequestSchema>['loras']>[number];
    expectTypeOf<keyof NonNullable<client.PrepareRequest['loras']>[number]>().toEqualTypeOf<keyof Lora>();
    expectTypeOf<client.BatchRequest>().toExtend<z.input<typeof core.batchRequestSchema>>();
    expectTypeOf<keyof client.BatchRequest>().toEqualTypeOf<keyof z.input<typeof core.batchRequestSchema>>();
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
    expectTypeOf<client.SourceRecord>().toEqualTypeOf<core.SourceRecord>();
    expectTypeOf<client.VerifyResult>().toEqualTypeOf<core.VerifyResult>();
    expectTypeOf<client.ScanResult>().toEqualTypeOf<core.ScanResult>();
  });

  it('answers: the schemas the API documents them by', () => {
    type Fetch = Answer<typeof answers.fetchAnswer>;
    // Every result is an answer the API gives (its model as the client types it, above); `failed` is thrown instead.
    expectTypeOf<client.FetchResult>().toExtend<Omit<Fetch, 'model'> & { model?: client.Model }>();
    expectTypeOf<client.FetchResult['status']>().toEqualTypeOf<Exclude<Fetch['status'], 'failed'>>();
    expectTypeOf<client.Verification>().toEqualTypeOf<Pick<Fetch, 'verified' | 'unverifiedReason'>>();

    type Item = Answer<typeof answers.batchItem>;
    expectTypeOf<client.BatchItemStatus>().toEqualTypeOf<Item['status']>();
    expectTypeOf<client.BatchItem>().toExtend<Item>();
    expectTypeOf<keyof client.BatchItem>().toEqualTypeOf<keyof Item>();
    expectTypeOf<keyof client.BatchView['counts']>().toEqualTypeOf<keyof Answer<typeof answers.batchView>['counts']>();

    type Prepare = Answer<typeof answers.prepareAnswer>;
    expectTypeOf<keyof client.PrepareResult>().toEqualTypeOf<keyof Prepare>();
    expectTypeOf<client.PrepareResult['unverified']>().toEqualTypeOf<Prepare['unverified']>();

    // The client's JobView covers fetch and maintenance jobs alike.
    type FetchJob = Answer<typeof answers.jobView>;
    expectTypeOf<keyof FetchJob>().toExtend<keyof client.JobView>();
    expectTypeOf<client.JobView['verified']>().toEqualTypeOf<FetchJob['verified']>();
    expectTypeOf<client.JobView['unverifiedReason']>().toEqualTypeOf<FetchJob['unverifiedReason']>();
  });

  it('knows the kinds the API knows', ({ expect }) => {
    expect([...client.MODEL_KINDS]).toEqual([...MODEL_KINDS]);
  });
});
