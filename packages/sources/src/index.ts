export * from './resolution.js';
export * from './source-resolver.js';
