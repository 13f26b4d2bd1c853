import { errorFromAnswer, JobFailedError, NotFoundError, UnavailableError, WaitTimeoutError } from './errors.js';
import { Lease, type LeaseTransport } from './lease.js';
import { MAX_HOLD_SECONDS, prepareInSlices } from './long-wait.js';
import { readEventStream, type ServerSentEvent } from './sse.js';
import type {
  BatchCreated,
  BatchView,
  CleanupRequest,
  CleanupResult,
  ErrorInfo,
  FetchResult,
  JobView,
  LeaseView,
  Model,
  ModelKind,
  ModelRefInput,
  PrepareRequest,
  PrepareResult,
  Stats,
  VerifyRequest,
} from './types.js';
import { followBatch, followJob, type EventsTransport, type WaitCallbacks } from './wait-for.js';

export interface ClientOptions {
  /** Where the API listens, e.g. http://127.0.0.1:3000. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer …`. Kept out of errors, logs and inspection. */
  token?: string;
  /** Another fetch (a test double, a proxy agent); the global one by default. */
  fetch?: typeof globalThis.fetch;
}

export interface WaitOptions extends WaitCallbacks {
  /** Give up (WaitTimeoutError) after this long; the jobs go on. No limit when left out. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface RequestOptions {
  body?: unknown;
  signal?: AbortSignal;
  /** Statuses answered as data rather than thrown (POST /v1/fetch's 502 failed job). */
  accept?: number[];
}

/** The API's own default for POST /v1/prepare. */
const DEFAULT_PREPARE_WAIT_SECONDS = 600;
const modelPath = (kind: ModelKind, name: string) =>
  `/v1/models/${encodeURIComponent(kind)}/${encodeURIComponent(name)}`;
const waitQuery = (seconds: number | undefined) => (seconds === undefined ? '' : `?wait=${seconds}`);

/** The Model Manager API, typed. Every method throws a ModelManagerError subclass on an error answer. */
export class ModelManagerClient implements EventsTransport, LeaseTransport {
  readonly baseUrl: string;
  // Private fields stay out of console.log/util.inspect and JSON.stringify of the client.
  readonly #token: string | undefined;
  readonly #fetch: typeof globalThis.fetch;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#token = options.token;
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  /* ---------- fetching models ---------- */

  /**
   * Everything one generation needs, fetched in parallel, waiting up to `waitSeconds` (default 600,
   * as the API); what failed or did not finish is listed in `failed`. The answer carries a lease
   * over the models it returns (from an API with leases): see `lease()`.
   */
  prepare(
    request: PrepareRequest,
    options: { waitSeconds?: number; signal?: AbortSignal } = {},
  ): Promise<PrepareResult> {
    return prepareInSlices(
      (pending, hold) => this.request('POST', `/v1/prepare?wait=${hold}`, { body: pending, signal: options.signal }),
      (leaseId) => this.releaseLease(leaseId),
      request,
      options.waitSeconds ?? DEFAULT_PREPARE_WAIT_SECONDS,
    );
  }

  /**
   * One model: cached, linked (the same bytes were on the volume under another name), completed
   * within `waitSeconds`, or still queued/active (then `waitFor(jobId)`). A job that failed within
   * `waitSeconds` is thrown as a JobFailedError; a reference the service cannot resolve as a
   * SourceNotFoundError, AuthRequiredError, HashConflictError or UnverifiedError.
   */
  async fetch(
    ref: ModelRefInput,
    options: { waitSeconds?: number; lease?: boolean; signal?: AbortSignal } = {},
  ): Promise<FetchResult> {
    const body = options.lease ? { ...ref, lease: true } : ref;
    const deadline = Date.now() + (options.waitSeconds ?? 0) * 1000;
    const hold = options.waitSeconds === undefined ? undefined : Math.min(options.waitSeconds, MAX_HOLD_SECONDS);
    const answer = await this.request<FetchResult | { status: 'failed'; jobId: string; error: ErrorInfo }>(
      'POST',
      `/v1/fetch${waitQuery(hold)}`,
      {
        body,
        signal: options.signal,
        accept: [502],
      },
    );
    if (answer.status === 'failed') throw new JobFailedError(answer.jobId, answer.error);
    const remaining = (deadline - Date.now()) / 1000;
    // Cached, linked and completed are done; so is a wait that has no time left.
    if ((answer.status !== 'queued' && answer.status !== 'active') || remaining < 1) return answer;
    // A wait longer than one request may hold: the rest on the job.
    const job = await this.job(answer.jobId, { waitSeconds: Math.floor(remaining), signal: options.signal });
    const kept = {
      kind: answer.kind,
      name: answer.name,
      verified: answer.verified,
      ...(answer.unverifiedReason === undefined ? {} : { unverifiedReason: answer.unverifiedReason }),
      ...(answer.leaseId ? { leaseId: answer.leaseId } : {}),
      ...(answer.leaseExpiresAt ? { leaseExpiresAt: answer.leaseExpiresAt } : {}),
    };
    if (job.status === 'failed') throw JobFailedError.fromJob(job);
    if (job.status === 'completed' && job.model)
      return { status: 'completed', jobId: job.jobId, model: job.model, ...kept };
    return { status: job.status === 'active' ? 'active' : 'queued', jobId: job.jobId, ...kept };
  }

  /** Queues many models at once (POST /v1/batches); follow it with `waitForBatch()` or `batch()`. */
  prefetch(items: ModelRefInput[], options: { signal?: AbortSignal } = {}): Promise<BatchCreated> {
    return this.request('POST', '/v1/batches', { body: { items }, signal: options.signal });
  }

  /**
   * Waits for jobs to finish, following their events stream (progress without polling), or polling
   * an API without one. One id: the completed job, or a JobFailedError. Several ids: every job's
   * final view, failed ones included, in the order given.
   */
  waitFor(jobId: string, options?: WaitOptions): Promise<JobView>;
  waitFor(jobIds: string[], options?: WaitOptions): Promise<JobView[]>;
  async waitFor(jobIds: string | string[], options: WaitOptions = {}): Promise<JobView | JobView[]> {
    const ids = Array.isArray(jobIds) ? jobIds : [jobIds];
    const jobs = await this.withDeadline(ids, options, (signal) =>
      Promise.all(ids.map((id) => followJob(this, id, signal, options))),
    );
    if (Array.isArray(jobIds)) return jobs;
    const job = jobs[0]!;
    if (job.status === 'failed') throw JobFailedError.fromJob(job);
    return job;
  }

  /** Waits until every job of a batch has finished; the final batch view (failed items included). */
  waitForBatch(batchId: string, options: WaitOptions = {}): Promise<BatchView> {
    return this.withDeadline([batchId], options, (signal) => followBatch(this, batchId, signal, options));
  }

  /* ---------- looking ---------- */

  /** A job; with `waitSeconds`, once it has finished or the time is up. */
  job(jobId: string, options: { waitSeconds?: number; signal?: AbortSignal } = {}): Promise<JobView> {
    return this.getWaiting<JobView>(
      `/v1/jobs/${encodeURIComponent(jobId)}`,
      options,
      (job) => job.status === 'completed' || job.status === 'failed',
    );
  }

  /** A batch; with `waitSeconds`, once every job has finished or the time is up. */
  batch(batchId: string, options: { waitSeconds?: number; signal?: AbortSignal } = {}): Promise<BatchView> {
    return this.getWaiting<BatchView>(`/v1/batches/${encodeURIComponent(batchId)}`, options, (batch) => batch.done);
  }

  async models(options: { kind?: ModelKind } = {}): Promise<Model[]> {
    const query = options.kind ? `?kind=${encodeURIComponent(options.kind)}` : '';
    return (await this.request<{ models: Model[] }>('GET', `/v1/models${query}`)).models;
  }

  model(kind: ModelKind, name: string): Promise<Model> {
    return this.request('GET', modelPath(kind, name));
  }

  stats(): Promise<Stats> {
    return this.request('GET', '/v1/stats');
  }

  /* ---------- looking after the volume ---------- */

  async deleteModel(kind: ModelKind, name: string): Promise<void> {
    await this.request('DELETE', modelPath(kind, name));
  }

  cleanup(request: CleanupRequest = {}): Promise<CleanupResult> {
    return this.request('POST', '/v1/cleanup', { body: request });
  }

  /** Keeps a model through every cleanup and quota eviction until `unpin()`. */
  pin(kind: ModelKind, name: string): Promise<Model> {
    return this.request('POST', `${modelPath(kind, name)}/pin`);
  }

  unpin(kind: ModelKind, name: string): Promise<Model> {
    return this.request('DELETE', `${modelPath(kind, name)}/pin`);
  }

  /** Queues a re-hash of the volume, a kind or one model; `waitFor(jobId)` gives its VerifyResult as `result`. */
  verify(request: VerifyRequest = {}): Promise<{ jobId: string }> {
    return this.request('POST', '/v1/verify', { body: request });
  }

  /** Queues a reconciliation of registry and folders; `waitFor(jobId)` gives its ScanResult as `result`. */
  scan(): Promise<{ jobId: string }> {
    return this.request('POST', '/v1/scan', { body: {} });
  }

  /** A handle on the lease a `prepare()` or `fetch({ lease: true })` answer carries, or on a lease id. */
  lease(from: string | { leaseId?: string; leaseExpiresAt?: string }): Lease {
    const leaseId = typeof from === 'string' ? from : from.leaseId;
    if (!leaseId)
      throw new TypeError(
        'no leaseId: the answer carries none (an API from before leases, or fetch() without lease: true)',
      );
    return new Lease(this, leaseId, typeof from === 'string' ? undefined : from.leaseExpiresAt);
  }

  /* ---------- transport (public for Lease and the waiters, not meant for callers) ---------- */

  renewLease(leaseId: string, seconds?: number): Promise<LeaseView> {
    return this.request('POST', `/v1/leases/${encodeURIComponent(leaseId)}`, {
      body: seconds === undefined ? {} : { seconds },
    });
  }

  async releaseLease(leaseId: string): Promise<void> {
    try {
      await this.request('DELETE', `/v1/leases/${encodeURIComponent(leaseId)}`);
    } catch (err) {
      if (!(err instanceof NotFoundError && err.code === 'LEASE_NOT_FOUND')) throw err;
    }
  }

  getJson<T>(path: string, signal: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, { signal });
  }

  async openEvents(path: string, signal: AbortSignal): Promise<AsyncIterable<ServerSentEvent> | null> {
    const res = await this.send('GET', path, { signal }, { accept: 'text/event-stream' });
    if (!res.ok) {
      const error = await this.errorOf(res);
      if (error instanceof NotFoundError && error.unknownRoute) return null;
      throw error;
    }
    if (!res.body) throw new UnavailableError(`GET ${path}: the events stream had no body`, 'UNREACHABLE', res.status);
    return readEventStream(res.body);
  }

  /* ---------- plumbing ---------- */

  private async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.send(
      method,
      path,
      options,
      options.body === undefined ? {} : { 'content-type': 'application/json' },
    );
    if (!res.ok && !options.accept?.includes(res.status)) throw await this.errorOf(res);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  private async send(
    method: string,
    path: string,
    options: RequestOptions,
    headers: Record<string, string>,
  ): Promise<Response> {
    const allHeaders: Record<string, string> = { accept: 'application/json', ...headers };
    if (this.#token) allHeaders.authorization = `Bearer ${this.#token}`;
    try {
      return await this.#fetch(`${this.baseUrl}${path}`, {
        method,
        headers: allHeaders,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
      });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      const reason = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new UnavailableError(
        `cannot reach the Model Manager API at ${this.baseUrl}: ${reason?.code ?? reason?.message ?? (err as Error).message}`,
        'UNREACHABLE',
        0,
        undefined,
        { cause: err },
      );
    }
  }

  private async errorOf(res: Response) {
    const text = await res.text();
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON: a proxy's page */
    }
    return errorFromAnswer(res.status, body, text);
  }

  /** GET with `?wait=`, in requests of at most MAX_HOLD_SECONDS each. */
  private async getWaiting<T>(
    path: string,
    options: { waitSeconds?: number; signal?: AbortSignal },
    finished: (view: T) => boolean,
  ): Promise<T> {
    const deadline = Date.now() + (options.waitSeconds ?? 0) * 1000;
    for (;;) {
      const remaining = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
      const hold = options.waitSeconds === undefined ? undefined : Math.min(remaining, MAX_HOLD_SECONDS);
      const view = await this.request<T>('GET', `${path}${waitQuery(hold)}`, { signal: options.signal });
      if (hold === undefined || hold >= remaining || finished(view)) return view;
    }
  }

  /** Runs `work` under a signal that aborts at the deadline or with the caller's signal. */
  private async withDeadline<T>(
    ids: string[],
    options: WaitOptions,
    work: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    let timedOut = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            controller.abort(new WaitTimeoutError(ids, options.timeoutMs!));
          }, options.timeoutMs);
    try {
      return await work(controller.signal);
    } catch (err) {
      if (timedOut) throw new WaitTimeoutError(ids, options.timeoutMs!);
      throw err;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      // Ends the streams of jobs that finished before a failing one, and of the rest.
      controller.abort();
    }
  }
}
