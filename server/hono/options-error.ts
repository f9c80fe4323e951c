import { HlsGateError } from '../core/errors.ts';
import type { Refuse } from '../app/option-checks.ts';

/**
 * What `cloudFrontGate`, `accessGrants` and `createGateway` throw for options that cannot work, when they are made
 * (and `grant()` for a video ID that cannot be one). Not a TypeError: catch `OptionsError`, `HlsGateError` or check
 * `err.code === 'ERR_OPTIONS'`. The message names the option and says what to pass instead.
 */
export class OptionsError extends HlsGateError<'ERR_OPTIONS'> {
  override readonly name = 'OptionsError';
  constructor(message: string) {
    super('ERR_OPTIONS', message);
  }
}

/** The shared checks (app/option-checks.ts) refusing as `factory`'s OptionsError. */
export function refuseOptions(factory: string): Refuse {
  return (message) => {
    throw new OptionsError(`${factory}: ${message}`);
  };
}
