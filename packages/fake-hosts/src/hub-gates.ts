import type { HubErrorCode } from './hub-error.js';

export interface HubRefusal {
  status: number;
  code: HubErrorCode;
  message: string;
}

/** Gated and private repos of the fake Hub, and whom it turns away, the way the Hub does. */
export class HubGates {
  private readonly tokens = new Map<string, Set<string>>();

  add(repo: string, token: string): void {
    this.tokens.set(repo, (this.tokens.get(repo) ?? new Set()).add(token));
  }

  refusal(repo: string, exists: boolean, token: string | undefined): HubRefusal | undefined {
    if (!exists) {
      // The Hub cannot tell "private" from "missing": 401 to the anonymous, 404 to a known user.
      const known = token !== undefined && [...this.tokens.values()].some((tokens) => tokens.has(token));
      return { status: known ? 404 : 401, code: 'RepoNotFound', message: 'Repository not found' };
    }
    const allowed = this.tokens.get(repo);
    if (!allowed || (token !== undefined && allowed.has(token))) return undefined;
    if (token === undefined) {
      const message = `Access to model ${repo} is restricted. You must have access to it and be authenticated to access it. Please log in.`;
      return { status: 401, code: 'GatedRepo', message };
    }
    const message = `Access to model ${repo} is restricted and you are not in the authorized list. Visit https://huggingface.co/${repo} to ask for access.`;
    return { status: 403, code: 'GatedRepo', message };
  }
}
