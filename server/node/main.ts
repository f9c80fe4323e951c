// `npm start`: the gateway on Node. With no configuration at all it runs the demo (see README).
import { ConfigError } from '../app/config.ts';
import { startNodeGateway } from './start.ts';

function line(level: string, msg: string, extra: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ level, msg, ...extra }));
}

try {
  const gw = await startNodeGateway(process.env);
  if (gw.config.demo) {
    const why = gw.zeroConfig ? 'nothing is configured' : 'DEMO=true';
    console.error(
      `\n  ⚠  DEMO MODE (${why}): anyone can get a viewer token from POST /api/demo/token.\n     Never run a real deployment like this: configure AUTH_JWT_SECRET (or a public key) and leave DEMO unset.\n`,
    );
    line('warn', 'demo mode is on', { reason: why });
  }
  for (const warning of gw.warnings) line('warn', warning);
  // One host name in every line printed: cookies signed for 127.0.0.1 are refused on localhost (resource-mismatch).
  const shown = gw.config.mediaBaseUrl ?? gw.url.replace('127.0.0.1', 'localhost');
  if (gw.devKey) {
    line('info', 'development key', {
      keyPairId: gw.devKey.keyPairId,
      privateKeyFile: gw.devKey.privateKeyFile,
      publicKeyFile: gw.devKey.publicKeyFile,
    });
    console.error(
      `  Development key ${gw.devKey.keyPairId}: ${gw.devKey.privateKeyFile}\n  e.g. npx hls-gate sign cookies --key-pair-id ${gw.devKey.keyPairId} --private-key ${gw.devKey.privateKeyFile} --resource '${shown}/videos/ladder/*' --expires +1h --header\n`,
    );
  }
  line('info', 'listening', { url: gw.url, mediaBaseUrl: gw.config.mediaBaseUrl ?? 'same origin as each request' });
  if (gw.zeroConfig) console.error(`  Open ${shown}/ to watch the demo.\n`);
  if (gw.metricsUrl) line('info', 'metrics', { url: gw.metricsUrl });
  let stopping = false;
  const stop = () => {
    // A second signal while draining: stop now, and say so with the exit code.
    if (stopping) {
      line('warn', 'stopped before responses in flight finished');
      process.exit(1);
    }
    stopping = true;
    // Stop accepting; responses in flight get SHUTDOWN_GRACE seconds; packaging jobs resume on the next start.
    const stopped = gw.shutdown(); // no longer listening from here on
    line('info', 'shutting down');
    void stopped.then(() => {
      line('info', 'stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`hls-gate: configuration error: ${err.message}`);
    process.exit(1);
  }
  console.error(`hls-gate: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
