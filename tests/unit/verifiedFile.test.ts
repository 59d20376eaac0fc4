import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDbTargetsFile } from '../../src/dbTargetsFile.js';
import { Semaphore, SlotWaitError, threadPoolSize } from '../../src/host/blockingOps.js';
import { openVerified, readOperatorFileSync, readVerified } from '../../src/host/verifiedFile.js';
import { loadThresholdsFile } from '../../src/thresholdsFile.js';

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'verified-file-')));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fifo(name: string): string {
  const p = join(dir, name);
  execFileSync('mkfifo', [p]);
  return p;
}

describe('openVerified / readVerified', () => {
  it('reads a regular file from its handle, capped', async () => {
    const p = join(dir, 'a.txt');
    writeFileSync(p, 'hello\n');
    expect((await readVerified(p, 100))?.toString()).toBe('hello\n');
    expect(await readVerified(p, 3)).toBe('too_large');
  });

  it('refuses a FIFO at once instead of blocking on it', async () => {
    expect(await readVerified(fifo('f1'), 100)).toBe('not_regular');
  });

  it('refuses a final symlink (ELOOP) and a path whose directory became a link', async () => {
    const target = join(dir, 'target.txt');
    writeFileSync(target, 'x');
    symlinkSync(target, join(dir, 'link.txt'));
    await expect(readVerified(join(dir, 'link.txt'), 100)).rejects.toMatchObject({ code: 'ELOOP' });
    mkdirSync(join(dir, 'real'));
    writeFileSync(join(dir, 'real', 'f'), 'inside');
    mkdirSync(join(dir, 'elsewhere'));
    writeFileSync(join(dir, 'elsewhere', 'f'), 'outside');
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'sw'));
    // The caller confined dir/sw/f as if sw were a directory: the handle is really elsewhere/f.
    await expect(readVerified(join(dir, 'sw', 'f'), 100)).rejects.toMatchObject({ code: 'ECHANGED' });
    // ...unless that is inside the roots the caller allows.
    expect((await readVerified(join(dir, 'sw', 'f'), 100, { realRoots: [dir] }))?.toString()).toBe('outside');
  });

  it('refuses another file put at the confined path (device and inode differ)', async () => {
    const p = join(dir, 'rot.log');
    writeFileSync(p, 'old');
    const before = await stat(p);
    writeFileSync(join(dir, 'rot.new'), 'new');
    renameSync(join(dir, 'rot.new'), p);
    await expect(openVerified(p, { expect: before })).rejects.toMatchObject({ code: 'ECHANGED' });
    const ok = await openVerified(p, { expect: await stat(p) });
    await ok.fh.close();
  });
});

describe('readOperatorFileSync (DB password files, THRESHOLDS_FILE, allow-lists)', () => {
  it('follows a configured symlink (Kubernetes secret mounts) to a regular file', () => {
    writeFileSync(join(dir, 'pw.real'), 's3cret\n');
    symlinkSync(join(dir, 'pw.real'), join(dir, 'pw'));
    expect(readOperatorFileSync(join(dir, 'pw'), 100).toString()).toBe('s3cret\n');
  });

  it('refuses a FIFO without blocking start-up or a call', () => {
    const p = fifo('pw.fifo');
    expect(() => readOperatorFileSync(p, 100)).toThrow(expect.objectContaining({ code: 'ENOTREG' }));
    expect(() => loadThresholdsFile(p)).toThrow(/cannot read it \(ENOTREG\)/);
    const targets = join(dir, 'targets.yml');
    writeFileSync(targets, `- {name: a, kind: mysql, host: 127.0.0.1, user: u, passwordFile: ${p}}\n`);
    expect(() => loadDbTargetsFile(targets, {})).toThrow(/passwordFile .* cannot be read \(ENOTREG\)/);
  });

  it('refuses an oversized file', () => {
    writeFileSync(join(dir, 'big'), 'x'.repeat(1000));
    expect(() => readOperatorFileSync(join(dir, 'big'), 999)).toThrow(
      expect.objectContaining({ code: 'EFBIG' }),
    );
  });
});

describe('Semaphore (blocking operations in flight)', () => {
  it('never lets more than its limit run at once', async () => {
    const s = new Semaphore(2);
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        s.run(async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setImmediate(r));
          running--;
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(s.inFlight).toBe(0);
  });

  it('lets a waiter give up on abort or after its wait bound, keeping the slots consistent', async () => {
    const s = new Semaphore(1);
    const release = await s.acquire();
    const ac = new AbortController();
    const aborted = s.acquire(ac.signal);
    ac.abort(new Error('cancelled'));
    await expect(aborted).rejects.toThrow('cancelled');
    await expect(s.acquire(undefined, 20)).rejects.toBeInstanceOf(SlotWaitError);
    expect(s.waiting).toBe(0);
    release();
    const again = await s.acquire(undefined, 20);
    expect(s.inFlight).toBe(1);
    again();
    expect(s.inFlight).toBe(0);
  });

  it('reads the pool size libuv uses', () => {
    expect(threadPoolSize({})).toBe(4);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: '16' })).toBe(16);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: 'x' })).toBe(4);
  });
});
