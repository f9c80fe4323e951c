import { releaseAccess, requestAccess, type AccessAnswer } from './api.ts';

// Keeps one video's grant fresh: renews before refreshAt, and on demand (before a request goes out with a grant
// about to expire, or after an `expired` refusal). Concurrent renewals share one call.

export interface GrantState {
  videoId: string;
  grant?: AccessAnswer;
  expiresAtMs: number;
  refreshedAtMs: number;
  renewals: number;
}

export class GrantKeeper {
  readonly state: GrantState;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pending: Promise<AccessAnswer> | undefined;
  #stopped = false;

  constructor(
    videoId: string,
    private readonly onChange: (s: GrantState) => void,
    private readonly onError: (err: unknown) => void,
  ) {
    this.state = { videoId, expiresAtMs: 0, refreshedAtMs: 0, renewals: -1 };
  }

  renew(): Promise<AccessAnswer> {
    this.#pending ??= requestAccess(this.state.videoId, this.state.grant?.sessionToken)
      .then((grant) => {
        this.state.grant = grant;
        this.state.expiresAtMs = Date.parse(grant.expiresAt);
        this.state.refreshedAtMs = Date.now();
        this.state.renewals++;
        this.#schedule(Date.parse(grant.refreshAt));
        this.onChange(this.state);
        return grant;
      })
      .finally(() => {
        this.#pending = undefined;
      });
    return this.#pending;
  }

  /** Resolves once the grant has at least `marginMs` left, renewing first when needed. */
  async ensureFresh(marginMs = 2000): Promise<void> {
    if (this.#stopped) return;
    if (this.state.expiresAtMs - Date.now() < marginMs) await this.renew();
  }

  #schedule(atMs: number): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    this.#timer = setTimeout(
      () => void this.renew().catch((err: unknown) => this.onError(err)),
      Math.max(500, atMs - Date.now()),
    );
  }

  /** Stops renewing; under session control, gives the device's lease back. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const token = this.state.grant?.sessionToken;
    if (token) void releaseAccess(this.state.videoId, token);
  }
}
