import { exampleCatalog } from './example-catalog.js';
import { FakeCivitai } from './fake-civitai.js';
import { FakeHuggingFace } from './fake-hugging-face.js';
import { FakeStorage } from './fake-storage.js';

export interface FakeHostsOptions {
  /** Ports to listen on (127.0.0.1); 0 or absent: any free port. */
  ports?: { hf?: number; civitai?: number; storage?: number };
  /** 'example' loads exampleCatalog(); default 'none'. */
  catalog?: 'example' | 'none';
}

export interface FakeHosts {
  hf: FakeHuggingFace;
  civitai: FakeCivitai;
  storage: FakeStorage;
  /** The settings that point the service at the fakes. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** Starts the storage host, the fake Hub and the fake Civitai; closes those started if one fails. */
export async function startFakeHosts(options: FakeHostsOptions = {}): Promise<FakeHosts> {
  const storage = new FakeStorage();
  const hf = new FakeHuggingFace(storage);
  const civitai = new FakeCivitai(storage);
  const close = async () => {
    await Promise.all([hf.close(), civitai.close(), storage.close()]);
  };
  try {
    await storage.start(options.ports?.storage);
    await hf.start(options.ports?.hf);
    await civitai.start(options.ports?.civitai);
  } catch (error) {
    await close();
    throw error;
  }
  if (options.catalog === 'example') exampleCatalog(hf, civitai);
  // The storage host shares the endpoints' host name (127.0.0.1), so no ALLOWED_HOSTS is needed.
  const env = { HF_ENDPOINT: hf.url, CIVITAI_ENDPOINT: civitai.url, ALLOW_PRIVATE_NETWORKS: 'true' };
  return { hf, civitai, storage, env, close };
}
