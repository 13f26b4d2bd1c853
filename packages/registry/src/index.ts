export * from './cleanup-plan.js';
export * from './hashing.js';
export * from './redis-lease.js';
export * from './registry-file.js';
export * from './registry.js';
export * from './volume.js';
