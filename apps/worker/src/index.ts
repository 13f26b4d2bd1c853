export { createModelFetchWorker, type ModelFetchWorker } from './worker.js';
export { createModelFetchProcessor } from './model-fetch-processor.js';
export { downloadToFile } from './download/download-to-file.js';
export type { DownloadRequest, DownloadResult } from './download/download-request.js';
export { createDownloadAgent } from '@model-manager/sources';
