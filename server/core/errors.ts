// One error class with a literal code union, so callers `switch (err.code)` (the panva/jose pattern).
// Messages say what to do; they never contain key material, policies or signatures.

export type CoreErrorCode =
  | 'ERR_KEY_MALFORMED'
  | 'ERR_KEY_ENCRYPTED'
  | 'ERR_KEY_UNSUPPORTED'
  | 'ERR_KEY_TOO_SMALL'
  | 'ERR_KEY_CURVE'
  | 'ERR_POLICY_INPUT'
  | 'ERR_POLICY_MALFORMED'
  | 'ERR_TIME'
  | 'ERR_BASE64'
  | 'ERR_URL';

/**
 * The base of every error hls-gate throws on purpose (core input, configuration, catalog, uploads, packaging, CLI
 * usage, options): a literal `code` to switch on, a `name` each subclass spells out (bundlers rename classes), and a
 * message that says what to do. Catch `HlsGateError` to tell hls-gate's refusals from bugs; check `code` (or the subclass) for which one.
 */
export class HlsGateError<Code extends string = string> extends Error {
  override readonly name: string = 'HlsGateError';
  readonly code: Code;
  constructor(code: Code, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** The error every core function throws for bad input: `code` says which kind, the message how to fix it. */
export class CoreError extends HlsGateError<CoreErrorCode> {
  override readonly name = 'CoreError';
}
