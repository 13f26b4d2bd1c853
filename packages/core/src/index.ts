export * from './config.js';
export * from './errors.js';
export * from './logger.js';
export * from './queue.js';
export * from './redact.js';
export * from './schemas.js';
export * from './time.js';
export * from './volume-layout.js';
