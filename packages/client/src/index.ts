export * from './client.js';
export * from './errors.js';
export * from './lease.js';
export * from './model-kinds.js';
export * from './sse.js';
export type * from './types.js';
