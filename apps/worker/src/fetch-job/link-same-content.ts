import { randomBytes } from 'node:crypto';
import {
  recordDownload,
  sameContentTmpPath,
  type FetchModelJobData,
  type Logger,
  type Model,
} from '@model-manager/core';
import { publishSameContent } from '@model-manager/registry';
import type { ProcessorDeps } from './processor-deps.js';

/** The same bytes are on the volume under another name: publish them without downloading. */
export async function linkSameContent(
  { config, registry, redis }: Pick<ProcessorDeps, 'config' | 'registry' | 'redis'>,
  ref: FetchModelJobData,
  log: Logger,
  note: (line: string) => void,
): Promise<Model | null> {
  const tmp = sameContentTmpPath(config.modelsDir, config.QUEUE_PREFIX, randomBytes(6).toString('hex'));
  const linked = await publishSameContent(registry, ref, tmp);
  if (!linked) return null;
  const { model, from, how } = linked;
  log.info({ from: `${from.kind}/${from.name}`, how }, 'same content already on the volume: no download');
  note(`same content as ${from.kind}/${from.name} (sha256 ${ref.sha256}): ${how} of ${from.path}; nothing downloaded`);
  note(`published: ${model.path}`);
  await recordDownload(redis, config.QUEUE_PREFIX, { kind: ref.kind, outcome: 'linked' });
  return model;
}
