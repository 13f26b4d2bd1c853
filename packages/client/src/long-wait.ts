import type { ModelKind, PrepareRequest, PrepareResult } from './types.js';

/**
 * The longest `?wait=` one request asks for. Node's fetch gives up on an answer whose headers
 * have not come within 300 s (undici's headersTimeout), and the API sends none until it answers,
 * so longer waits are made of several requests.
 */
export const MAX_HOLD_SECONDS = 290;

export type PrepareCall = (request: PrepareRequest, waitSeconds: number) => Promise<PrepareResult>;

type Failure = PrepareResult['failed'][number];
const isTimeout = (f: Failure) => f.error.code === 'WAIT_TIMEOUT';
const keyOf = (kind: ModelKind, name: string) => `${kind}/${name}`;

/**
 * The names a failure of this request may carry: its own name, else the reference or URL it was
 * asked by (what the API reports for a model refused before its name was known). A model without
 * a name that failed after the host named it cannot be told apart from the others: it is asked for
 * again, and fails again.
 */
function namesOf(ref: { name?: string | undefined; source?: string | undefined; url?: string | undefined }): string[] {
  if (ref.name !== undefined) return [ref.name];
  if (ref.source !== undefined) return [ref.source];
  return ref.url === undefined ? [] : [ref.url, normalUrl(ref.url)];
}

/** A URL as the API keeps it (WHATWG-normalised), so a refusal naming it matches what was sent. */
function normalUrl(url: string): string {
  try {
    return new URL(url).href;
  } catch {
    return url;
  }
}

/** The request without the models that failed for good, so asking again does not fetch them again. */
function withoutFailed(request: PrepareRequest, failed: Failure[]): PrepareRequest {
  const gone = new Set(failed.map((f) => keyOf(f.kind, f.name)));
  const keep = (kind: ModelKind) => (ref: Parameters<typeof namesOf>[0]) =>
    !namesOf(ref).some((name) => gone.has(keyOf(kind, name)));
  const next: PrepareRequest = { ...request };
  if (request.checkpoint && !keep('checkpoint')(request.checkpoint)) delete next.checkpoint;
  if (request.loras) next.loras = request.loras.filter(keep('lora'));
  if (request.embeddings) next.embeddings = request.embeddings.filter(keep('embedding'));
  return next;
}

/** Earlier failures and the latest answer's, once each: a model asked for again may fail again. */
function allFailures(earlier: Failure[], latest: Failure[]): Failure[] {
  const again = new Set(latest.map((f) => keyOf(f.kind, f.name)));
  return [...earlier.filter((f) => !again.has(keyOf(f.kind, f.name))), ...latest];
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
  let failedForGood: Failure[] = [];
  // A model fetched (or linked) during an earlier slice is a cache hit in the next one: keep what each slice fetched.
  const downloaded = new Map<string, PrepareResult['downloaded'][number]>();
  let pending = request;
  let previousLease: string | undefined;
  for (;;) {
    const remaining = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    const hold = Math.min(remaining, MAX_HOLD_SECONDS);
    const answer = await call(pending, hold);
    if (previousLease && previousLease !== answer.leaseId) await release(previousLease).catch(() => undefined);
    for (const model of answer.downloaded ?? []) downloaded.set(keyOf(model.kind, model.name), model);
    if (!answer.failed.some(isTimeout) || hold >= remaining) {
      return { ...answer, failed: allFailures(failedForGood, answer.failed), downloaded: [...downloaded.values()] };
    }
    failedForGood = allFailures(
      failedForGood,
      answer.failed.filter((f) => !isTimeout(f)),
    );
    pending = withoutFailed(request, failedForGood);
    previousLease = answer.leaseId;
  }
}
