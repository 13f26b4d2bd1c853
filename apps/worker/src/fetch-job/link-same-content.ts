import { randomBytes } from 'node:crypto';
import { copyFile, link, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { STAGING_DIR, modelFilePath, recordDownload, type FetchModelJobData, type Logger, type Model } from '@model-manager/core';
import { escapePart } from '../download/staging/staging-file.js';
import type { ProcessorDeps } from './processor-deps.js';
import { newEntry, publishModel } from './publish-model.js';

/** The same bytes are on the volume under another name: link them (copy where links are impossible). */
export async function linkSameContent(
  { config, registry, redis }: Pick<ProcessorDeps, 'config' | 'registry' | 'redis'>,
  ref: FetchModelJobData,
  log: Logger,
  note: (line: string) => void,
): Promise<Model | null> {
  const incoming = path.join(config.modelsDir, STAGING_DIR);
  if (!ref.sha256) return null;
  const twin = await registry.findByHash(ref.sha256);
  if (!twin) return null;
  const ext = path.extname(twin.path).toLowerCase();
  const finalPath = modelFilePath(config.modelsDir, ref.kind, ref.name, ext);
  if (finalPath === twin.path) return null;
  const tmp = path.join(incoming, `${escapePart(config.QUEUE_PREFIX)}.tmp-link-${randomBytes(6).toString('hex')}`);
  let how = 'hard link';
  try {
    await link(twin.path, tmp);
  } catch {
    how = 'copy';
    await copyFile(twin.path, tmp);
  }
  const model = await publishModel(
    registry,
    ref,
    ref.url,
    finalPath,
    newEntry(finalPath, ref.sha256, twin.size),
    () => rename(tmp, finalPath),
    () => rm(finalPath, { force: true }),
  ).catch(async (err: unknown) => {
    await rm(tmp, { force: true });
    throw err;
  });
  log.info({ from: `${twin.kind}/${twin.name}`, how }, 'same content already on the volume: no download');
  note(`same content as ${twin.kind}/${twin.name} (sha256 ${ref.sha256}): ${how} of ${twin.path}; nothing downloaded`);
  note(`published: ${finalPath}`);
  await recordDownload(redis, config.QUEUE_PREFIX, { kind: ref.kind, outcome: 'linked' });
  return model;
}
