import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MISSING_TTL_MS, runCommand } from '../../src/host/runCommand.js';

const savedPath = process.env.PATH;
afterEach(() => {
  process.env.PATH = savedPath;
});

describe('runCommand', () => {
  it('runs a command found on PATH with its fixed argv', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runcmd-'));
    const script = join(dir, 'say-args');
    writeFileSync(script, `#!${process.execPath}\nconsole.log(JSON.stringify(process.argv.slice(2)));\n`);
    chmodSync(script, 0o755);
    process.env.PATH = `${dir}:${savedPath ?? ''}`;
    const r = await runCommand('say-args', ['a b', '$(x)']);
    expect(r).toMatchObject({ found: true, exitCode: 0, timedOut: false });
    expect(JSON.parse(r.stdout)).toEqual(['a b', '$(x)']);
  });

  it('reports a command missing from PATH as not found, for a path too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runcmd-empty-'));
    process.env.PATH = dir;
    expect(await runCommand('smartctl-not-installed', ['--scan'])).toMatchObject({ found: false });
    expect(await runCommand(join(dir, 'nope'), [])).toMatchObject({ found: false });
  });

  it(`remembers a missing command for ${MISSING_TTL_MS / 1000} s, then sees it installed`, async () => {
    // Only Date is faked (the clock the cache reads); PATH lookups and the spawn are real.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const dir = mkdtempSync(join(tmpdir(), 'runcmd-later-'));
      process.env.PATH = dir;
      expect(await runCommand('installed-later', [])).toMatchObject({ found: false });
      // Installed right after the miss: within the TTL the remembered miss answers, no lookup.
      const script = join(dir, 'installed-later');
      writeFileSync(script, `#!${process.execPath}\nconsole.log('here');\n`);
      chmodSync(script, 0o755);
      vi.setSystemTime(Date.now() + MISSING_TTL_MS - 1000);
      expect(await runCommand('installed-later', [])).toMatchObject({ found: false });
      // Past the TTL it is looked up again and run.
      vi.setSystemTime(Date.now() + 2000);
      const r = await runCommand('installed-later', []);
      expect(r).toMatchObject({ found: true, exitCode: 0 });
      expect(r.stdout.trim()).toBe('here');
    } finally {
      vi.useRealTimers();
    }
  });
});
