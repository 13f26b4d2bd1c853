// The Dockerfile parsed and checked against the repository it builds: the packages it prunes for
// and the files its final images copy and run. CI's containers check (.ci/containers/check and
// test/stack/) builds and runs the images themselves.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}
interface Stage {
  name: string | undefined;
  from: string;
  instructions: Instruction[];
}

/** Instructions by stage: comments and blank lines dropped, `\` continuations joined. */
function parseDockerfile(text: string): { args: Instruction[]; stages: Stage[] } {
  const instructions: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((rawLine, i) => {
    const line = rawLine.trim();
    if (!pending && (line === '' || line.startsWith('#'))) return;
    if (pending && line.startsWith('#')) return; // comment lines inside a continuation are skipped
    if (!pending) startLine = i + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trimEnd()} `;
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^(\S+)\s*(.*)$/s.exec(full)!;
    instructions.push({ keyword: m[1]!.toUpperCase(), args: m[2]!, line: startLine });
  });
  const args: Instruction[] = [];
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)!;
      stages.push({ from: m[1]!, name: m[2]?.toLowerCase(), instructions: [] });
    } else if (stages.length === 0) {
      args.push(ins);
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return { args, stages };
}

const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
const { args: globalArgs, stages } = parseDockerfile(dockerfile);
const stage = (name: string) => {
  const found = stages.find((s) => s.name === name);
  if (!found) throw new Error(`no stage ${name}`);
  return found;
};
/** A stage's instructions, its parents' (FROM another stage) first. */
function lineage(name: string): Instruction[] {
  const s = stage(name);
  const parent = stages.find((p) => p.name === s.from.toLowerCase());
  return [...(parent?.name ? lineage(parent.name) : []), ...s.instructions];
}
const all = (keyword: string, list: Instruction[]) => list.filter((i) => i.keyword === keyword);
/** What every RUN that reaches the npm registry starts with: the optional CA bundle and npm's cache. */
const NPM_MOUNTS =
  '--mount=type=secret,id=ca_bundle --mount=type=cache,target=/root/.npm,sharing=shared { [ ! -s /run/secrets/ca_bundle ] || export NODE_EXTRA_CA_CERTS=/run/secrets/ca_bundle; } && ';
const execForm = (ins: Instruction) => JSON.parse(ins.args) as string[];

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  bin?: Record<string, string>;
}
const workspaceDirs = [
  'apps/api',
  'apps/worker',
  'apps/cli',
  'packages/core',
  'packages/registry',
  'packages/client',
  'packages/sources',
];
const manifests = new Map(
  workspaceDirs.map((dir) => {
    const m = JSON.parse(readFileSync(path.join(root, dir, 'package.json'), 'utf8')) as Manifest;
    return [m.name, { dir, manifest: m }];
  }),
);
/** The workspace packages a package needs at run time, itself included. */
function workspaceClosure(name: string, seen = new Set<string>()): Set<string> {
  if (seen.has(name)) return seen;
  seen.add(name);
  for (const dep of Object.keys(manifests.get(name)!.manifest.dependencies ?? {}))
    if (manifests.has(dep)) workspaceClosure(dep, seen);
  return seen;
}

const APPS = [
  {
    target: 'api',
    packages: ['@model-manager/api', '@model-manager/cli'],
    main: 'apps/api/dist/main.js',
    healthcheck: /\/healthz/,
  },
  {
    target: 'worker',
    packages: ['@model-manager/worker'],
    main: 'apps/worker/dist/main.js',
    healthcheck: /apps\/worker\/dist\/healthcheck\.js/,
  },
] as const;

describe('Dockerfile', () => {
  it('is multi-stage, with a final stage per app', () => {
    expect(stages.length).toBeGreaterThanOrEqual(4);
    for (const app of APPS) expect(stage(app.target)).toBeDefined();
    // Named stages are unique, and every stage built FROM another stage names an existing one.
    const names = stages.map((s) => s.name).filter(Boolean);
    expect(new Set(names).size).toBe(names.length);
  });

  it('prunes the workspace per app with turbo prune --docker, for packages that exist', () => {
    const runs = all('RUN', stage('prune').instructions)
      .map((i) => i.args)
      .join(' && ');
    const prunes = [...runs.matchAll(/turbo prune ((?:@[\w-]+\/[\w-]+\s+)+)--docker --out-dir (\S+)/g)];
    expect(prunes).toHaveLength(APPS.length);
    for (const app of APPS) {
      const prune = prunes.find((p) => p[2] === `/out/${app.target}`);
      expect(prune, `turbo prune for ${app.target}`).toBeDefined();
      expect(prune![1]!.trim().split(/\s+/).sort()).toEqual([...app.packages].sort());
      for (const pkg of app.packages) expect(manifests.has(pkg), pkg).toBe(true);
    }
    // turbo as pinned by the lockfile, so the prune matches the repository's own turbo.
    const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version: string }>;
    };
    expect(runs).toContain(`turbo@${lock.packages['node_modules/turbo']!.version}`);
  });

  for (const app of APPS) {
    describe(`the ${app.target} image`, () => {
      const own = stage(app.target).instructions;
      const inherited = lineage(app.target);

      it('installs production dependencies only, and takes only compiled output from the build', () => {
        const deps = stage(`${app.target}-deps`);
        expect(all('RUN', deps.instructions).map((i) => i.args.replace(NPM_MOUNTS, ''))).toEqual([
          'npm ci --omit=dev && rm -rf node_modules/typescript node_modules/.bin/tsc node_modules/.bin/tsserver',
        ]);
        expect(all('COPY', own).map((i) => i.args)).toEqual([
          `--from=${app.target}-deps /app/ ./`,
          `--from=${app.target}-build /dist/ ./`,
        ]);
        // What /dist holds: each pruned package's dist/ (and bin/), by the same relative path.
        const build = all('RUN', stage(`${app.target}-build`).instructions).map((i) => i.args);
        expect(build.at(-1)).toMatch(
          /^npx turbo run build && mkdir \/dist && find apps packages -mindepth 2 -maxdepth 2 \\\( -name dist -o -name bin \\\) -exec cp -r --parents \{\} \/dist\/ \\;$/,
        );
        // The build stage works on the pruned workspace of this app.
        const copies = all('COPY', stage(`${app.target}-build`).instructions).map((i) => i.args);
        expect(copies).toEqual([
          `--from=prune /out/${app.target}/json/ ./`,
          `--from=prune /out/${app.target}/full/ ./`,
        ]);
      });

      it('starts an entry point that the build makes', () => {
        const cmd = execForm(all('CMD', own).at(-1)!);
        expect(cmd).toEqual(['node', app.main]);
        expect(app.main).toMatch(/^(apps|packages)\/[\w-]+\/dist\//);
        expect(existsSync(path.join(root, app.main)), `${app.main} (built by npm test's turbo run build)`).toBe(true);
        // Every workspace package the app imports at run time is in its prune (turbo prune follows dependencies).
        for (const pkg of app.packages)
          for (const dep of workspaceClosure(pkg))
            expect(existsSync(path.join(root, manifests.get(dep)!.dir, 'dist')), dep).toBe(true);
      });

      it('runs as a non-root user', () => {
        const user = all('USER', inherited).at(-1);
        expect(user?.args).toBeDefined();
        expect(['root', '0', '0:0']).not.toContain(user!.args.trim());
        // The USER comes before CMD, and nothing after it switches back.
        expect(own.findIndex((i) => i.keyword === 'USER')).toBeLessThan(own.findIndex((i) => i.keyword === 'CMD'));
      });

      it('starts node under tini, in exec form, so SIGTERM reaches it', () => {
        const entrypoint = all('ENTRYPOINT', inherited).at(-1);
        expect(execForm(entrypoint!)).toEqual(['/usr/bin/tini', '--']);
        expect(all('RUN', inherited).some((i) => /apt-get install .*\btini\b/.test(i.args))).toBe(true);
        expect(() => execForm(all('CMD', own).at(-1)!)).not.toThrow();
      });

      it('has one HEALTHCHECK, on a file the build makes', () => {
        const checks = all('HEALTHCHECK', inherited);
        expect(checks).toHaveLength(1);
        expect(checks[0]!.args).toMatch(app.healthcheck);
        expect(checks[0]!.args).toMatch(/--interval=\d+s .*--timeout=\d+s/);
        const script = /(apps\/[\w-]+\/dist\/[\w-]+\.js)/.exec(checks[0]!.args)?.[1];
        if (script) expect(existsSync(path.join(root, script)), script).toBe(true);
      });

      it('keeps the model volume at /workspace/models, owned by the runtime user', () => {
        const env = all('ENV', inherited)
          .map((i) => i.args)
          .join(' ');
        expect(env).toMatch(/MODELS_DIR=\/workspace\/models/);
        expect(all('RUN', inherited).some((i) => /chown node:node \/workspace\/models/.test(i.args))).toBe(true);
      });
    });
  }

  it('builds on Node.js 24, with no `# syntax=` line (that would fetch a frontend image)', () => {
    expect(globalArgs.map((a) => a.args)).toContain('NODE_IMAGE=node:24-bookworm-slim');
    for (const s of stages.filter((s) => !stages.some((p) => p.name === s.from.toLowerCase())))
      expect(s.from).toBe('${NODE_IMAGE}');
    expect(dockerfile).not.toMatch(/^#\s*syntax=/m);
  });

  it('gives every npm run the optional CA bundle and the shared npm cache, so it works behind a re-signing proxy', () => {
    const npmRuns = stages
      .flatMap((s) => all('RUN', s.instructions))
      .filter((i) => /\bnpm (ci|install)\b/.test(i.args));
    expect(npmRuns.length).toBe(5);
    for (const run of npmRuns) expect(run.args.startsWith(NPM_MOUNTS), `line ${run.line}`).toBe(true);
  });

  it('bakes in no secret: no ENV or ARG that names one, no .env copied', () => {
    const secret = /TOKEN|SECRET|PASSWORD|PASSWD|AUTH_HEADERS|API_KEY|PRIVATE_KEY|CREDENTIAL/i;
    const everything = [...globalArgs, ...stages.flatMap((s) => s.instructions)];
    for (const ins of everything.filter((i) => i.keyword === 'ENV' || i.keyword === 'ARG')) {
      expect(ins.args, `line ${ins.line}`).not.toMatch(secret);
    }
    for (const ins of all('COPY', everything).concat(all('ADD', everything)))
      expect(ins.args, `line ${ins.line}`).not.toMatch(/\.env\b|\.npmrc/);
    // And nothing opens the API without a token.
    for (const ins of everything.filter((i) => i.keyword === 'ENV'))
      expect(ins.args).not.toMatch(/ALLOW_UNAUTHENTICATED/);
  });

  it('serves the API on 0.0.0.0:3000 inside the container, which the API allows only with API_TOKEN', () => {
    const env = all('ENV', stage('api').instructions)
      .map((i) => i.args)
      .join(' ');
    expect(env).toMatch(/HOST=0\.0\.0\.0/);
    expect(env).toMatch(/PORT=3000/);
    expect(all('EXPOSE', stage('api').instructions).map((i) => i.args)).toEqual(['3000']);
    expect(all('EXPOSE', stage('worker').instructions)).toHaveLength(0);
  });
});
