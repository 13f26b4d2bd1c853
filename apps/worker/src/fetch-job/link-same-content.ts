import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { STAGING_DIR, recordDownload, type FetchModelJobData, type Logger, type Model } from '@model-manager/core';
import { publishSameContent } from '@model-manager/registry';
import { escapePart } from '../download/staging/staging-file.js';
import type { ProcessorDeps } from './processor-deps.js';

/** The same bytes are on the volume under another name: publish them without downloading. */
export async function linkSameContent(
  { config, registry, redis }: Pick<ProcessorDeps, 'config' | 'registry' | 'redis'>,
  ref: FetchModelJobData,
  log: Logger,
  note: (line: string) => void,
): Promise<Model | null> {
  // Named under this worker's prefix, so its staging sweeper removes what a crash leaves behind.
  const tmp = path.join(
    config.modelsDir,
    STAGING_DIR,
    `${escapePart(config.QUEUE_PREFIX)}.tmp-link-${randomBytes(6).toString('hex')}`,
  );
  const linked = await publishSameContent(registry, ref, tmp);
  if (!linked) return null;
  const { model, from, how } = linked;
  log.info({ from: `${from.kind}/${from.name}`, how }, 'same content already on the volume: no download');
  note(`same content as ${from.kind}/${from.name} (sha256 ${ref.sha256}): ${how} of ${from.path}; nothing downloaded`);
  note(`published: ${model.path}`);
  await recordDownload(redis, config.QUEUE_PREFIX, { kind: ref.kind, outcome: 'linked' });
  return model;
}
