import { createHash } from 'node:crypto';
import type { FakeFile } from './fake-file.js';

export interface HubEntry {
  file: FakeFile;
  lfs: boolean;
}

export interface HubRevision {
  name: string;
  /** 40-hex commit id, derived from repo and revision so it is the same on every run. */
  commit: string;
  files: Map<string, HubEntry>;
}

/** The fake Hub's repositories: files by revision. */
export class HubRepos {
  private readonly repos = new Map<string, Map<string, HubRevision>>();

  add(repo: string, revision: string, path: string, entry: HubEntry): void {
    const revisions = this.repos.get(repo) ?? new Map<string, HubRevision>();
    this.repos.set(repo, revisions);
    const commit = createHash('sha1').update(`${repo}\n${revision}`).digest('hex');
    const found = revisions.get(revision) ?? { name: revision, commit, files: new Map() };
    revisions.set(revision, found);
    found.files.set(path, entry);
  }

  has(repo: string): boolean {
    return this.repos.has(repo);
  }

  revisionNames(repo: string): string[] {
    return [...(this.repos.get(repo)?.keys() ?? [])];
  }

  /** A revision by branch or tag name, or by commit id. */
  revision(repo: string, nameOrCommit: string): HubRevision | undefined {
    const revisions = this.repos.get(repo);
    if (!revisions) return undefined;
    return revisions.get(nameOrCommit) ?? [...revisions.values()].find((r) => r.commit === nameOrCommit);
  }
}
