/** A setting the operator got wrong; start-up prints `message` as one line and exits with code 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
