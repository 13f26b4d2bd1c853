import { type Answer, loopbackServer, send } from './http-server.js';

export const SHA_A = 'A'.repeat(64);
export const SHA_B = 'B'.repeat(64);

/** A model version as Civitai's /api/v1/model-versions/{id} describes it: a fp16 and a fp32 file. */
export function versionJson(versionId: number, modelId = 4201) {
  return {
    id: versionId,
    modelId,
    name: 'v1.0',
    model: { name: 'Some LoRA', type: 'LORA', nsfw: false },
    files: [
      {
        id: 11,
        sizeKB: 1.5,
        name: 'some_lora_fp32.safetensors',
        type: 'Model',
        metadata: { format: 'SafeTensor', size: 'full', fp: 'fp32' },
        hashes: { AutoV2: 'ABCDEF1234', SHA256: SHA_A },
        downloadUrl: `https://civitai.com/api/download/models/${versionId}`,
        primary: true,
      },
      {
        id: 12,
        sizeKB: 0.75,
        name: 'some_lora_fp16.safetensors',
        type: 'Model',
        metadata: { format: 'SafeTensor', size: 'pruned', fp: 'fp16' },
        hashes: { SHA256: SHA_B },
        downloadUrl: `https://civitai.com/api/download/models/${versionId}?type=Model&format=SafeTensor&size=pruned&fp=fp16`,
      },
    ],
  };
}

export const json = (body: unknown, extra: Answer = {}): Answer => ({
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
  ...extra,
});

/**
 * A fake Civitai: `versions` maps a version id to the answer for /api/v1/model-versions/{id},
 * `hashes` a hash (as asked) to the answer for /api/v1/model-versions/by-hash/{hash}.
 */
export function fakeCivitai(versions: Record<number, Answer> = {}, hashes: Record<string, Answer> = {}) {
  const server = loopbackServer((req, res) => {
    const byHash = /^\/api\/v1\/model-versions\/by-hash\/([^/]+)$/.exec(req.url!);
    if (byHash) return send(res, hashes[byHash[1]!]);
    const m = /^\/api\/v1\/model-versions\/(\d+)$/.exec(req.url!);
    send(res, m ? versions[Number(m[1])] : undefined);
  });
  return Object.assign(server, { versions, hashes });
}
