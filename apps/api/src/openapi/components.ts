import { z } from 'zod';
import {
  batchRequestSchema,
  cleanupRequestSchema,
  fetchRequestSchema,
  leaseExtendSchema,
  modelRequestSchema,
  prepareRequestSchema,
  scanRequestSchema,
  sourceRecordSchema,
  verifyRequestSchema,
} from '@model-manager/core';
import * as answers from './answer-schemas.js';
import { batchStreamEvent, jobStreamEvent, progressEvent } from './event-schemas.js';

/**
 * Every named schema of the document. Requests are the very zod schemas the routes validate with;
 * a schema used inside another (ModelRef in BatchRequest) becomes a `$ref` to its component.
 */
export const components = {
  /** What a caller asks for (a url or a source reference), by the name clients know it by. */
  ModelRef: modelRequestSchema,
  SourceRecord: sourceRecordSchema,
  FetchRequest: fetchRequestSchema,
  BatchRequest: batchRequestSchema,
  PrepareRequest: prepareRequestSchema,
  CleanupRequest: cleanupRequestSchema,
  VerifyRequest: verifyRequestSchema,
  ScanRequest: scanRequestSchema,
  LeaseExtend: leaseExtendSchema,
  Error: answers.apiError,
  ErrorInfo: answers.errorInfo,
  Model: answers.model,
  ModelList: answers.modelList,
  JobView: answers.jobView,
  MaintenanceJobView: answers.maintenanceJobView,
  BatchItem: answers.batchItem,
  BatchView: answers.batchView,
  BatchCreated: answers.batchCreated,
  FetchAnswer: answers.fetchAnswer,
  PrepareAnswer: answers.prepareAnswer,
  Lease: answers.leaseAnswer,
  Stats: answers.statsAnswer,
  CleanupAnswer: answers.cleanupAnswer,
  MaintenanceQueued: answers.maintenanceQueued,
  Health: answers.health,
  Readiness: answers.readiness,
  ProgressEvent: progressEvent,
  JobStreamEvent: jobStreamEvent,
  BatchStreamEvent: batchStreamEvent,
} satisfies Record<string, z.ZodType>;
export type ComponentName = keyof typeof components;

export const ref = (name: ComponentName) => ({ $ref: `#/components/schemas/${name}` });

/** A zod schema as JSON Schema 2020-12 (the dialect of OpenAPI 3.1), requests as their input side. */
export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

/** `components.schemas`, with references between them. */
export function componentSchemas(): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(components)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    io: 'input',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      const { $schema: _dialect, $id: _id, ...rest } = schema as Record<string, unknown>;
      return [id, rest];
    }),
  );
}
