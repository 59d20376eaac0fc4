import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ToolContext } from '../../src/tools/types.js';
import { scanSecretsTool } from '../../src/tools/scanSecrets.js';
import { SecretFactory } from '../helpers/secretFixtures.js';
import { configFrom } from '../helpers/servers.js';

// The handler called directly, for what is awkward over HTTP: a deadline of a millisecond and
// a call cancelled before it starts.
const root = mkdtempSync(join(tmpdir(), 'secrets-tool-'));
const f = new SecretFactory(7);
for (let d = 0; d < 20; d++) {
  mkdirSync(join(root, `d${d}`));
  for (let i = 0; i < 20; i++) writeFileSync(join(root, `d${d}`, `f${i}.env`), `TOKEN=${f.githubPat()}\n`);
}
afterAll(() => rmSync(root, { recursive: true, force: true }));

function ctx(
  over: { deadlineSeconds?: number; signal?: AbortSignal; progress?: ToolContext['progress'] } = {},
) {
  const config = configFrom({ AUDIT_ALLOWED_PATHS: root, HOST_ROOT: '/' });
  return {
    config: { ...config, TOOL_DEADLINE_SECONDS: over.deadlineSeconds ?? config.TOOL_DEADLINE_SECONDS },
    host: { proc: '/proc', sys: '/sys', root: '/' },
    signal: over.signal ?? new AbortController().signal,
    progress: over.progress ?? (async () => undefined),
  } as unknown as ToolContext;
}

const args = {
  paths: [root],
  maxFileBytes: 1024 * 1024,
  entropyThreshold: 3.5,
  respectGitignore: true,
  maxFiles: 100_000,
  limit: 5,
};

describe('scan_secrets handler', () => {
  it('scans the whole tree, cuts findings to limit and reports progress', async () => {
    const seen: Array<[number, number | undefined]> = [];
    const r = await scanSecretsTool.handler(args, ctx({ progress: async (p, t) => void seen.push([p, t]) }));
    expect(r.structured.summary.filesScanned).toBe(400);
    expect(r.structured.summary.findings).toBe(400);
    expect(r.structured.findings).toHaveLength(5);
    expect(r.structured.truncated).toBe(true);
    expect(seen.at(-1)).toEqual([400, 400]);
    expect(r.summary).toMatch(/^400 secret\(s\) found in 400 files scanned \(400 critical\)\./);
  });

  it('stops at the deadline with partial results', async () => {
    const r = await scanSecretsTool.handler(args, ctx({ deadlineSeconds: 0.001 }));
    expect(r.structured.partial).toBe(true);
    expect(r.structured.stoppedBecause).toMatch(/^deadline of .* s reached$/);
    expect(r.structured.summary.filesScanned).toBeLessThan(400);
  });

  it('ends a cancelled call with a tool error', async () => {
    await expect(scanSecretsTool.handler(args, ctx({ signal: AbortSignal.abort() }))).rejects.toThrow(
      'Cancelled by the client',
    );
  });
});
