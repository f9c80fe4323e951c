import { HlsGateError } from '../core/errors.ts';

/** A start-up refusal (settings, keys, catalog at start): the message says what to set, and never contains a secret. */
export class ConfigError extends HlsGateError<'ERR_CONFIG'> {
  override readonly name = 'ConfigError';
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_CONFIG', message, options);
  }
}

/** Configuration as it arrives: Node's process.env, or a Worker's string vars. */
export type Env = Record<string, string | undefined>;
