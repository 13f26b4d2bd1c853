export { createApp } from './app.js';
export { createServiceContext, type ServiceContext } from './context.js';
export { buildLoraPrompt } from './services/prompt.js';
export { documentedRoutes, openApiDocument, openApiPath } from './openapi/document.js';
