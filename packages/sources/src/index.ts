export * from './resolution.js';
export * from './agent.js';
export * from './auth.js';
