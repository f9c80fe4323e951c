// `hls-gate/node`: the gateway on Node: the server, local-disk storage, the node:crypto signer, the player page.
export { startNodeGateway, type RunningGateway, type StartOptions } from './start.ts';
export { connectionLimits } from './settings.ts';
export { createFsStorage } from './fs-storage.ts';
export { withNodeCrypto } from './native-key.ts';
export { createAssets as playerAssets } from './assets.ts';
// What startNodeGateway throws for bad settings (an HlsGateError from `hls-gate`, code ERR_CONFIG).
export { ConfigError } from '../app/config-error.ts';
