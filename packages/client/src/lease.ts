import type { LeaseView, ModelKind } from './types.js';

/** What a lease handle needs from the client. */
export interface LeaseTransport {
  renewLease(leaseId: string, seconds?: number): Promise<LeaseView>;
  releaseLease(leaseId: string): Promise<void>;
}

/**
 * A hold on the models a `prepare()` (or `fetch({ lease: true })`) returned: while it lasts, no
 * cleanup or quota eviction deletes them. Renew it for long jobs; release it when done.
 */
export class Lease {
  expiresAt: string | undefined;
  models: Array<{ kind: ModelKind; name: string }> | undefined;

  constructor(
    private readonly transport: LeaseTransport,
    readonly leaseId: string,
    expiresAt?: string,
  ) {
    this.expiresAt = expiresAt;
  }

  /** Extends the lease by `seconds` (the API's LEASE_SECONDS when left out). */
  async renew(seconds?: number): Promise<LeaseView> {
    const view = await this.transport.renewLease(this.leaseId, seconds);
    this.expiresAt = view.expiresAt;
    this.models = view.models;
    return view;
  }

  /** Lets the models go. Releasing a lease that has already expired is not an error. */
  async release(): Promise<void> {
    await this.transport.releaseLease(this.leaseId);
  }
}
