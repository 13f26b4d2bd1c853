import type http from 'node:http';
import { type Answered, answerJson } from './answer.js';

export type HubErrorCode = 'RepoNotFound' | 'GatedRepo' | 'RevisionNotFound' | 'EntryNotFound';

/**
 * An error as the Hub answers a resolve request: the status, X-Error-Code and X-Error-Message
 * (what huggingface_hub turns into RepositoryNotFoundError, GatedRepoError and so on), and a JSON
 * body for GET.
 */
export function hubError(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  record: Answered,
  status: number,
  code: HubErrorCode,
  message: string,
): void {
  // Header values must be printable Latin-1; a revision or path echoed back may not be.
  const header = message.replace(/[^\x20-\x7e]/g, '?');
  answerJson(req, res, record, status, { error: message }, { 'x-error-code': code, 'x-error-message': header });
}
