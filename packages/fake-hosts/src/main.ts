// Runs the fakes until Ctrl-C. The env lines go to stdout (so they can be captured); everything
// else goes to stderr.
import { parseArgs } from 'node:util';
import { EXAMPLE_HF_FILES } from './example-catalog.js';
import { EXAMPLE_CIVITAI_VERSIONS } from './example-versions.js';
import { startFakeHosts } from './start-fake-hosts.js';

const USAGE =
  'usage: main.js [--port-hf N (8601)] [--port-civitai N (8602)] [--port-storage N (8603)] [--catalog example|none (example)]';

// Fixed by default, so the settings printed (and the ones the docs show) stay the same run after run.
const DEFAULT_PORTS = { hf: 8601, civitai: 8602, storage: 8603 };

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function port(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`${flag}: not a port: ${value}`);
  return n;
}

const { values } = parseArgs({
  options: {
    'port-hf': { type: 'string' },
    'port-civitai': { type: 'string' },
    'port-storage': { type: 'string' },
    catalog: { type: 'string', default: 'example' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(0);
}
if (values.catalog !== 'example' && values.catalog !== 'none')
  fail(`--catalog: example or none, not ${values.catalog}`);

const hosts = await startFakeHosts({
  ports: {
    hf: port(values['port-hf'], '--port-hf', DEFAULT_PORTS.hf),
    civitai: port(values['port-civitai'], '--port-civitai', DEFAULT_PORTS.civitai),
    storage: port(values['port-storage'], '--port-storage', DEFAULT_PORTS.storage),
  },
  catalog: values.catalog,
});
for (const [key, value] of Object.entries(hosts.env)) process.stdout.write(`${key}=${value}\n`);
const say = (line: string) => process.stderr.write(`${line}\n`);
say(`fake Hugging Face ${hosts.hf.url}, fake Civitai ${hosts.civitai.url}, storage ${hosts.storage.url}`);
if (values.catalog === 'example') {
  for (const f of EXAMPLE_HF_FILES) say(`  ${hosts.hf.url}/${f.repo}/resolve/main/${f.path}`);
  for (const v of EXAMPLE_CIVITAI_VERSIONS)
    say(`  ${hosts.civitai.url}/api/download/models/${v.versionId}  (${v.modelType} ${v.fileName})`);
}
say('Ctrl-C to stop');

const stop = () => {
  void hosts.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
