// A start-up refusal: the message says what to set, and never contains a secret.
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Configuration as it arrives: Node's process.env, or a Worker's string vars. */
export type Env = Record<string, string | undefined>;
