import type { TestOrigin } from '../../../../test/support/origin.js';

const MiB = 1024 * 1024;

/**
 * Fresh 1 MiB LoRAs on `origin`, named `${prefix}1`, `${prefix}2`, …, so each test fetches a
 * model no other test touched. `model()` adds one and gives the job data that fetches it;
 * `requestsFor(name)` lists what the origin was asked for it.
 */
export function numberedModels(origin: TestOrigin, prefix: string) {
  let names = 0;
  return {
    model: () => {
      const name = `${prefix}${++names}`;
      const file = origin.addFile(`${name}.safetensors`, MiB);
      return { file, data: { kind: 'lora' as const, name, url: `${origin.url}/files/${name}.safetensors` } };
    },
    requestsFor: (name: string) => origin.requests.filter((r) => r.path.includes(`/${name}.safetensors`)),
  };
}
