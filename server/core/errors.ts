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

/** The error every core function throws for bad input: `code` says which kind, the message how to fix it. */
export class CoreError extends Error {
  readonly code: CoreErrorCode;
  constructor(code: CoreErrorCode, message: string) {
    super(message);
    this.name = 'CoreError';
    this.code = code;
  }
}
