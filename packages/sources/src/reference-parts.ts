import { SourceError } from './resolution.js';

export const ACCEPTED_FORMS =
  'hf:OWNER/REPO/PATH/IN/REPO[@REVISION], civitai:VERSION_ID or urn:air:ECOSYSTEM:TYPE:civitai:MODEL_ID@VERSION_ID';

/** The SourceError for a reference that cannot be read: what is wrong, and the forms accepted. */
export function badReference(text: string, problem: string): SourceError {
  const shown = text.length > 120 ? `${text.slice(0, 120)}…` : text;
  return new SourceError('INVALID_REQUEST', `source ${JSON.stringify(shown)}: ${problem}; give ${ACCEPTED_FORMS}`, {
    field: 'source',
  });
}

const ID = /^[1-9]\d{0,15}$/;

/** A positive integer id as written in a reference or URL, or null. */
export function parseId(text: string): number | null {
  if (!ID.test(text)) return null;
  const id = Number(text);
  return Number.isSafeInteger(id) ? id : null;
}
