import { createGrantClient, type AccessGrant, type GrantClient } from '../../client/index.ts';
import { apiBase, getToken } from './api.ts';

// The page's grant for one video: hls-gate/client's grant client (the one implementation of renewing, recovering
// and releasing), with the state the page shows and the end-to-end tests read.

export interface GrantState {
  videoId: string;
  grant?: AccessGrant;
  expiresAtMs: number;
  refreshedAtMs: number;
  renewals: number;
}

export class GrantKeeper {
  readonly state: GrantState;
  readonly client: GrantClient;
  #started = false;

  constructor(videoId: string, onChange: (s: GrantState) => void, onError: (err: unknown) => void) {
    this.state = { videoId, expiresAtMs: 0, refreshedAtMs: 0, renewals: -1 };
    this.client = createGrantClient({
      videoId,
      apiBase: apiBase(),
      getToken,
      onGrant: (grant, renewals) => {
        this.state.grant = grant;
        this.state.expiresAtMs = Date.parse(grant.expiresAt);
        this.state.refreshedAtMs = Date.now();
        this.state.renewals = renewals;
        onChange(this.state);
      },
      onRefusal: onError,
    });
  }

  /** The first call starts the client (its renewals, its release on pagehide); later ones renew. */
  renew(): Promise<AccessGrant> {
    if (this.#started) return this.client.renew();
    this.#started = true;
    return this.client.start();
  }

  stop(): void {
    this.client.stop();
  }
}
