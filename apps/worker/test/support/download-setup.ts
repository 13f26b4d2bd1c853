import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { Agent } from 'undici';
import { afterAll, beforeAll } from 'vitest';
import type { Logger } from '@model-manager/core';
import type { DownloadRequest } from '../../src/download/download-request.js';
import { stopHashThread } from '../../src/download/file-hasher.js';
import { StagingFile } from '../../src/download/staging/staging-file.js';
import { TestOrigin } from '../../../../test/support/origin.js';

export interface LogLine {
  msg: string;
  [field: string]: unknown;
}

/** A logger that keeps its lines, so a test can say which step a download took. */
export function recordingLogger(): { logger: Logger; lines: LogLine[]; said: (msg: string) => boolean } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines, said: (msg) => lines.some((l) => l.msg === msg) };
}

const MiB = 1024 * 1024;
/** How the segmented tests download: three connections, pieces of at least 1 MiB. */
export const SEGMENTED = { segments: 3, segmentMinBytes: MiB };
/** A file for segmented downloads: three pieces of 4 MiB, the last one short. */
export const SEGMENTED_SIZE = 10 * MiB + 12345;

/**
 * One in-process origin, a staging folder and an undici agent with short timeouts for a test
 * file, started (with `name` of `size` bytes on the origin) before its tests and stopped after
 * them; `request()` builds a DownloadRequest for a fresh job's staging file.
 */
export function downloadSetup(name: string, size: number, timeouts: { headersMs?: number; bodyMs?: number } = {}) {
  const origin = new TestOrigin();
  const dir = mkdtempSync(path.join(tmpdir(), 'mm-download-'));
  const dispatcher = new Agent({
    headersTimeout: timeouts.headersMs ?? 10_000,
    bodyTimeout: timeouts.bodyMs ?? 10_000,
  });
  beforeAll(async () => {
    await origin.start();
    origin.addFile(name, size);
  });
  afterAll(async () => {
    await dispatcher.close();
    await origin.close();
    rmSync(dir, { recursive: true, force: true });
    await stopHashThread();
  });
  let jobs = 0;
  return {
    origin,
    dir,
    dispatcher,
    /** The file named at set-up, as the origin serves it. */
    file: () => origin.files.get(name)!,
    /** A new job's staging file. */
    staging: () => new StagingFile(dir, StagingFile.keyFor('test', `job-${++jobs}`)),
    request(url: string, staging: StagingFile, more: Partial<DownloadRequest> = {}) {
      const log = recordingLogger();
      const req: DownloadRequest = { url, sourceIndex: 0, staging, dispatcher, logger: log.logger, ...more };
      return { req, log };
    },
  };
}

/** The ModelFetchError a promise rejects with, as the fields a test compares. */
export async function failureOf(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    const e = err as {
      code?: string;
      retryable?: boolean;
      status?: number;
      httpKind?: string;
      retryAfterMs?: number;
      message: string;
    };
    return {
      code: e.code,
      retryable: e.retryable,
      status: e.status,
      httpKind: e.httpKind,
      retryAfterMs: e.retryAfterMs,
      message: e.message,
    };
  }
  throw new Error('expected the download to fail, and it succeeded');
}
