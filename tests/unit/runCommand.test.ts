import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/host/runCommand.js';

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
    // remembered for a while: asked again, still not found (without a spawn)
    expect(await runCommand('smartctl-not-installed', ['--scan'])).toMatchObject({ found: false });
    expect(await runCommand(join(dir, 'nope'), [])).toMatchObject({ found: false });
  });
});
