const RESOLVE = '/resolve/';

const decode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
};

/** `/{repo}/resolve/{rest}`: the repo id (owner/name, datasets/owner/name) and the rest, still encoded. */
export function resolvePath(pathname: string): { repo: string; rest: string } | undefined {
  const at = pathname.indexOf(RESOLVE);
  if (at <= 1) return undefined;
  const repo = decode(pathname.slice(1, at));
  return repo === undefined ? undefined : { repo, rest: pathname.slice(at + RESOLVE.length) };
}

/**
 * `{revision}/{path}`. Clients encode a revision's slashes (refs%2Fpr%2F1); one sent unencoded is
 * still found when it names a known revision. Otherwise the first segment is the revision.
 */
export function splitRevision(rest: string, known: string[]): { revision: string; path: string } | undefined {
  const named = [...known]
    .sort((a, b) => b.length - a.length)
    .flatMap((name) => [`${encodeURIComponent(name)}/`, `${name}/`].map((prefix) => ({ name, prefix })))
    .find(({ prefix }) => rest.startsWith(prefix));
  const slash = rest.indexOf('/');
  const revision = named ? named.name : decode(rest.slice(0, slash));
  const path = decode(named ? rest.slice(named.prefix.length) : rest.slice(slash + 1));
  if (slash < 1 || revision === undefined || path === undefined || path === '') return undefined;
  return { revision, path };
}
