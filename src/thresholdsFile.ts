import { parse } from 'yaml';
import { type Thresholds, thresholdsSchema } from './audit/health/thresholds.js';
import { ConfigError } from './configError.js';
import { readOperatorFileSync } from './host/verifiedFile.js';

/** No real thresholds file comes near this; a larger one is not read into memory. */
const MAX_THRESHOLDS_BYTES = 1024 * 1024;

/**
 * THRESHOLDS_FILE: YAML (or JSON, which YAML reads too) with any subset of the thresholds,
 * e.g. `diskUsedPercent: { high: 80, critical: 90 }`. Unknown keys are refused, so a typo
 * does not silently keep a default.
 */
export function loadThresholdsFile(path: string): Thresholds {
  const fail = (why: string) => new ConfigError(`Invalid THRESHOLDS_FILE (got "${path}"): ${why}`);
  let text: string;
  try {
    // By handle, regular files only (src/host/verifiedFile.ts): a FIFO cannot hang start-up.
    text = readOperatorFileSync(path, MAX_THRESHOLDS_BYTES).toString('utf8');
  } catch (err) {
    throw fail(`cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let raw: unknown;
  try {
    // Parsed apart from the read: YAML errors carry a `code` too (e.g. BAD_INDENT).
    raw = parse(text) ?? {};
  } catch (err) {
    throw fail(`not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const result = thresholdsSchema.strict().safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.join('.') || '(top level)';
    throw fail(`${where}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}
