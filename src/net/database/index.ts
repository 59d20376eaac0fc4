import type { DbTarget } from '../../dbTargetsFile.js';
import { collectMysql } from './mysql.js';
import { collectPostgres } from './postgres.js';
import type { CollectOptions, DatabaseFacts } from './types.js';

export { DatabaseError } from './common.js';
export type { DatabaseFacts } from './types.js';

/** One short-lived, read-only connection to the target; closed before this resolves. */
export function collectDatabase(target: DbTarget, o: CollectOptions): Promise<DatabaseFacts> {
  return target.kind === 'mysql' ? collectMysql(target, o) : collectPostgres(target, o);
}
