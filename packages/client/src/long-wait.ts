import type { ModelKind, PrepareRequest, PrepareResult } from './types.js';

/**
 * The longest `?wait=` one request asks for. Node's fetch gives up on an answer whose headers
 * have not come within 300 s (undici's headersTimeout), and the API sends none until it answers,
 * so longer waits are made of several requests.
 */
export const MAX_HOLD_SECONDS = 290;

export type PrepareCall = (request: PrepareRequest, waitSeconds: number) => Promise<PrepareResult>;

const isTimeout = (f: PrepareResult['failed'][number]) => f.error.code === 'WAIT_TIMEOUT';

/** The request without the models that failed for good, so asking again does not fetch them again. */
function withoutFailed(request: PrepareRequest, failed: PrepareResult['failed']): PrepareRequest {
  const gone = new Set(failed.map((f) => `${f.kind}/${f.name}`));
  const keep = (kind: ModelKind) => (ref: { name: string }) => !gone.has(`${kind}/${ref.name}`);
  const next: PrepareRequest = { ...request };
  if (request.checkpoint && !keep('checkpoint')(request.checkpoint)) delete next.checkpoint;
  if (request.loras) next.loras = request.loras.filter(keep('lora'));
  if (request.embeddings) next.embeddings = request.embeddings.filter(keep('embedding'));
  return next;
}

/**
 * POST /v1/prepare for up to `waitSeconds`, in slices of MAX_HOLD_SECONDS. Asking again is safe:
 * models done by then are cache hits and running ones are joined, not fetched twice. Each answer
 * brings a new lease over what it returns; the previous one is released.
 */
export async function prepareInSlices(
  call: PrepareCall,
  release: (leaseId: string) => Promise<void>,
  request: PrepareRequest,
  waitSeconds: number,
): Promise<PrepareResult> {
  const deadline = Date.now() + waitSeconds * 1000;
  const failedForGood: PrepareResult['failed'] = [];
  // A model fetched during an earlier slice is a cache hit in the next one: keep what each slice fetched.
  const downloaded = new Map<string, PrepareResult['downloaded'][number]>();
  let pending = request;
  let previousLease: string | undefined;
  for (;;) {
    const remaining = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    const hold = Math.min(remaining, MAX_HOLD_SECONDS);
    const answer = await call(pending, hold);
    if (previousLease && previousLease !== answer.leaseId) await release(previousLease).catch(() => undefined);
    for (const model of answer.downloaded ?? []) downloaded.set(`${model.kind}/${model.name}`, model);
    if (!answer.failed.some(isTimeout) || hold >= remaining) {
      return { ...answer, failed: [...failedForGood, ...answer.failed], downloaded: [...downloaded.values()] };
    }
    failedForGood.push(...answer.failed.filter((f) => !isTimeout(f)));
    pending = withoutFailed(request, failedForGood);
    previousLease = answer.leaseId;
  }
}
