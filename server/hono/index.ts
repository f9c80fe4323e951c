// `hls-gate/hono`: the gateway as a Hono app to mount inside yours, and middleware for hosts that want pieces.
export { createGateway, type GatewayOptions } from './gateway.ts';
export { cloudFrontGate, type CloudFrontGateOptions, type CloudFrontGateEnv } from './gate.ts';
export { OptionsError } from './options-error.ts';
export { accessGrants, type AccessGrantsOptions, type AccessGrants, type AccessGrant } from './grant.ts';
export type { GatewayEnv } from '../app/context.ts';
// What createGateway throws for bad settings (an HlsGateError from `hls-gate`, code ERR_CONFIG).
export { ConfigError } from '../app/config-error.ts';
export type { MediaStorage, ObjectMeta, StoredObject, ByteRange } from '../app/storage.ts';
export type { LogEntry, EventLog } from '../app/log.ts';
