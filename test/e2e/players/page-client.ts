// What every player test page shares: the grant client the README's snippet makes (from the test's page config),
// and the state the test reads (renewals, player errors) and the stop it calls.
import { createGrantClient, type GrantClient } from '../../../client/index.ts';

interface PageConfig {
  apiBase: string;
  token: string;
  videoId: string;
}

export const state = { renewals: -1, errors: [] as { code: number; status: unknown }[], started: false };

/** The page's grant client, exposed to the test with its state and a stop. */
export function pageClient(): GrantClient {
  const cfg = (window as unknown as { pageConfig: PageConfig }).pageConfig;
  const client = createGrantClient({
    videoId: cfg.videoId,
    apiBase: cfg.apiBase,
    getToken: async () => cfg.token,
    onGrant: (_grant, renewals) => (state.renewals = renewals),
  });
  const w = window as unknown as { pageState: typeof state; stopPlayback: () => void };
  w.pageState = state;
  w.stopPlayback = () => client.stop();
  return client;
}
