// Hugging Face's own rule for owner and repository names (letters, digits, - _ .), no "..".
const REPO_PART = /^[A-Za-z0-9_][\w.-]{0,95}$/;

/** Why a `/`-separated path (a file in the repository, a revision) is refused, or null. */
function segmentsProblem(what: string, text: string, allowSpaces: boolean): string | null {
  if (text === '') return `${what} is empty`;
  if (/\p{Cc}/u.test(text)) return `${what} holds a control character`;
  if (!allowSpaces && /\s/.test(text)) return `${what} holds a space`;
  if (text.includes('\\')) return `${what} holds a "\\"`;
  const parts = text.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return `${what} has an empty, "." or ".." part`;
  return null;
}

/** Why the parts of a Hugging Face file reference are refused, or null when they name a file. */
export function hfRefProblem(owner: string, repo: string, path: string, revision: string): string | null {
  for (const part of [owner, repo]) {
    if (!REPO_PART.test(part) || part.includes('..') || part.endsWith('.'))
      return `${JSON.stringify(part)} is not a Hugging Face owner or repository name`;
  }
  // A revision never holds "@": a reference's revision is what follows its last "@".
  if (revision.includes('@')) return 'the revision holds an "@"';
  return segmentsProblem('the path in the repository', path, true) ?? segmentsProblem('the revision', revision, false);
}
