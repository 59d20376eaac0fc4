import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckEnv } from '../audit/health/checkEnv.js';
import {
  analyzeFailedUnits,
  analyzeMailQueue,
  analyzeServices,
  parseFailedUnits,
} from '../audit/health/servicesAnalysis.js';
import { emptyResult, type GroupResult, mergeResults } from '../audit/health/types.js';
import { under } from '../host/hostPaths.js';
import { listDir } from '../host/readFiles.js';
import { systemDescription } from './sharedFacts.js';

/** Queue directories per mail server; counting stops here so a 10-million-message queue stays cheap. */
const QUEUE_DIRS: Record<string, string[]> = {
  postfix: [
    '/var/spool/postfix/deferred',
    '/var/spool/postfix/active',
    '/var/spool/postfix/incoming',
    '/var/spool/postfix/maildrop',
  ],
  exim: ['/var/spool/exim/input', '/var/spool/exim4/input'],
};
const QUEUE_COUNT_CAP = 100_000;

export async function checkServices(env: CheckEnv): Promise<GroupResult> {
  const description = await systemDescription(env);
  const parts = [analyzeServices(description)];
  const mail = description.mailServers.find((m) => m.installed || m.running);
  if (mail) parts.push(await mailQueue(env, mail.name));
  parts.push(await failedUnits(env));
  return mergeResults(...parts);
}

async function mailQueue(env: CheckEnv, server: string): Promise<GroupResult> {
  let count = 0;
  let seenDir = false;
  for (const dir of QUEUE_DIRS[server] ?? []) {
    const root = under(env.paths.root, dir);
    const before = count;
    count += await countFiles(
      root,
      QUEUE_COUNT_CAP - count,
      server === 'exim' ? (n) => n.endsWith('-H') : () => true,
    );
    if (count > before || (await listDir(root)).length > 0) seenDir = true;
    if (count >= QUEUE_COUNT_CAP) break;
  }
  if (!seenDir && count === 0) {
    // Empty queue dirs and unreadable ones look alike without root; say so rather than report 0 as fact.
    const r = analyzeMailQueue(server, 0, false, env.thresholds);
    r.notes.push(`mail: ${server} queue directories are empty or unreadable (reading them needs root)`);
    return r;
  }
  return analyzeMailQueue(server, count, count >= QUEUE_COUNT_CAP, env.thresholds);
}

/** Counts files below `dir` (postfix hashes queue files into subdirectories), up to `cap`. */
async function countFiles(dir: string, cap: number, match: (name: string) => boolean): Promise<number> {
  let n = 0;
  const stack = [dir];
  while (stack.length > 0 && n < cap) {
    const d = stack.pop() as string;
    let entries: Dirent[];
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (e.isDirectory()) stack.push(join(d, e.name));
      else if (e.isFile() && match(e.name) && ++n >= cap) break;
    }
  }
  return n;
}

async function failedUnits(env: CheckEnv): Promise<GroupResult> {
  if (env.paths.root !== '/') {
    return {
      ...emptyResult(),
      notes: ['systemd: skipped: systemctl only queries the local system, and HOST_ROOT is not /'],
    };
  }
  const res = await env.run(
    'systemctl',
    ['list-units', '--state=failed', '--no-legend', '--plain', '--no-pager'],
    {
      timeoutMs: 5000,
      signal: env.signal,
    },
  );
  if (!res.found) return { ...emptyResult(), notes: ['systemd: systemctl not found (not a systemd host)'] };
  if (res.timedOut || res.exitCode !== 0) {
    return {
      ...emptyResult(),
      notes: [
        `systemd: systemctl failed${res.timedOut ? ' (timed out)' : ''}: ${res.stderr.trim().split('\n')[0] ?? ''}`,
      ],
    };
  }
  return analyzeFailedUnits(parseFailedUnits(res.stdout));
}
