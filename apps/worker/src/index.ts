export { createModelFetchWorker, type ModelFetchWorker } from './worker.js';
export { createModelFetchProcessor } from './model-fetch-processor.js';
export { downloadToFile, type DownloadRequest, type DownloadResult } from './download/http-download.js';
export { createDownloadAgent } from './download/agent.js';
