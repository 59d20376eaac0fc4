import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  compileFormat,
  detectFormat,
  parseApacheTime,
  parseJsonLine,
  parserFor,
} from '../../src/audit/logs/logFormat.js';
import { type LogFile, resolveLogFiles, streamLines } from '../../src/host/logFiles.js';
import { cpuMs } from '../helpers/cpuTime.js';

const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';

describe('log formats', () => {
  it('parses combined, with zones, escaped quotes and "-" fields', () => {
    const e = parserFor('combined')(
      `203.0.113.9 - frank [10/Oct/2000:13:55:36 -0700] "GET /a\\"b?x=1 HTTP/1.1" 200 - "-" "Agent \\"quoted\\" 1.0"`,
    );
    expect(e).toMatchObject({
      ip: '203.0.113.9',
      method: 'GET',
      path: '/a"b?x=1',
      status: 200,
      bytes: 0,
      userAgent: 'Agent "quoted" 1.0',
      referer: '-',
      vhost: null,
    });
    expect(new Date(e?.time ?? 0).toISOString()).toBe('2000-10-10T20:55:36.000Z');
  });

  it('parses common, vhost_combined and nginx', () => {
    expect(
      parserFor('common')('2001:db8::1 - - [01/Jan/2026:00:00:00 +0100] "POST /login HTTP/2.0" 401 532'),
    ).toMatchObject({
      ip: '2001:db8::1',
      method: 'POST',
      status: 401,
      bytes: 532,
      time: Date.UTC(2025, 11, 31, 23, 0, 0),
    });
    expect(
      parserFor('vhost_combined')(
        `shop.example:443 198.51.100.4 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 10 "-" "${UA}"`,
      ),
    ).toMatchObject({ vhost: 'shop.example', ip: '198.51.100.4', userAgent: UA });
    expect(
      parserFor('nginx')(`198.51.100.4 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 10 "-" "${UA}"`)
        ?.userAgent,
    ).toBe(UA);
  });

  it('compiles a custom LogFormat with the host header and a duration', () => {
    const p = compileFormat('%a %{Host}i %t "%r" %>s %B %D "%{User-Agent}i"');
    expect(
      p(`192.0.2.7 www.example.org [01/Jan/2026:10:00:00 +0000] "GET /x HTTP/1.1" 404 0 1234 "${UA}"`),
    ).toMatchObject({
      ip: '192.0.2.7',
      vhost: 'www.example.org',
      status: 404,
      path: '/x',
    });
    expect(() => compileFormat('%t %>s')).toThrow('must contain %h');
  });

  it('reads JSON lines from nginx and Caddy', () => {
    expect(
      parseJsonLine(
        '{"remote_addr":"192.0.2.1","time_iso8601":"2026-01-01T00:00:00+00:00","request":"GET /a HTTP/1.1","status":"301","body_bytes_sent":"12","http_user_agent":"curl/8","host":"a.example"}',
      ),
    ).toMatchObject({
      ip: '192.0.2.1',
      method: 'GET',
      path: '/a',
      status: 301,
      bytes: 12,
      vhost: 'a.example',
      time: Date.UTC(2026, 0, 1),
    });
    expect(
      parseJsonLine(
        '{"ts":1767225600.5,"request":{"remote_ip":"192.0.2.2","method":"POST","host":"b.example","uri":"/api","headers":{"User-Agent":["curl/8"]}},"status":500,"size":3}',
      ),
    ).toMatchObject({
      ip: '192.0.2.2',
      method: 'POST',
      path: '/api',
      status: 500,
      userAgent: 'curl/8',
      vhost: 'b.example',
      time: 1767225600500,
    });
    expect(parseJsonLine('{"no":"ip"}')).toBeUndefined();
    expect(parseJsonLine('{broken')).toBeUndefined();
  });

  it('auto-detects the format and refuses garbage', () => {
    const combined = `192.0.2.1 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "${UA}"`;
    expect(detectFormat([combined, 'garbage', combined])?.name).toBe('combined');
    expect(detectFormat(['{"remote_addr":"192.0.2.1","request":"GET / HTTP/1.1"}'])?.name).toBe('json');
    expect(
      detectFormat(['a.example:80 192.0.2.1 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "x"'])
        ?.name,
    ).toBe('vhost_combined');
    expect(detectFormat(['hello', 'world', '\u0000\u0001'])).toBeUndefined();
  });

  it('leaves out JSON fields of the wrong type, so one odd line cannot sink an analysis', async () => {
    const { BotAnalyzer } = await import('../../src/audit/bots/analyzer.js');
    const line = (extra: string) => `{"remote_addr":"192.0.2.1","request":"GET /a HTTP/1.1"${extra}}`;
    const lines = [
      line(',"host":{"a":1},"method":["x"],"http_user_agent":true,"http_referer":{}'),
      line(',"host":123'),
      line(',"time":1e20'), // ms past what a Date holds
      line(',"ts":1767225600000000000'), // nanoseconds
      line(',"time":-1e20'),
      line(',"body_bytes_sent":1e400,"status":1e400'),
      line(',"status":5e3,"bytes":-5'),
    ];
    const parsed = lines.map((l) => parseJsonLine(l));
    expect(parsed[0]).toMatchObject({ vhost: null, method: 'GET', path: '/a', userAgent: '', referer: '' });
    expect(parsed[1]?.vhost).toBe('123');
    for (const e of parsed.slice(2, 5)) expect(e?.time).toBeNaN();
    expect(parsed[5]).toMatchObject({ bytes: 0, status: 0 });
    expect(parsed[6]).toMatchObject({ bytes: 0, status: 0 });
    const combined = parserFor('combined')(
      `192.0.2.1 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 ${'9'.repeat(400)} "-" "${UA}"`,
    );
    expect(combined?.bytes).toBe(0);
    // These threw in the analyzer (vhost.toLowerCase, toISOString) or gave Infinity bytes.
    const analyzer = new BotAnalyzer({ isAllowed: () => false });
    for (const e of [...parsed, combined]) if (e) analyzer.add(e);
    const result = analyzer.finish(10, new Map());
    expect(result.requests).toBe(lines.length + 1);
    expect(Number.isFinite(result.bytes)).toBe(true);
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });

  it('rejects malformed times instead of guessing', () => {
    expect(parseApacheTime('32/Foo/2026:00:00:00 +0000')).toBeNaN();
    expect(parseApacheTime('01/Jan/2026:00:00:00')).toBeNaN();
  });
});

describe('log files', () => {
  const root = mkdtempSync(join(tmpdir(), 'logs-test-'));
  const logDir = join(root, 'var/log/web');
  mkdirSync(logDir, { recursive: true });
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/shadow'), 'root:*:1:::::\n');
  const line = (n: number) =>
    `192.0.2.${n} - - [01/Jan/2026:00:00:0${n % 10} +0000] "GET /${n} HTTP/1.1" 200 1 "-" "${UA}"\n`;
  writeFileSync(join(logDir, 'access.log'), line(1));
  writeFileSync(join(logDir, 'access.log.1'), line(2));
  writeFileSync(join(logDir, 'access.log.2.gz'), gzipSync(line(3) + line(4)));
  writeFileSync(join(logDir, 'access.log.10.gz'), gzipSync(line(5)));
  symlinkSync(join(root, 'etc/shadow'), join(logDir, 'escape.log'));
  execFileSync('mkfifo', [join(logDir, 'pipe.log')]);
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const allowed = ['/var/log'];

  async function collect(file: LogFile, maxLineBytes = 16384) {
    const lines: string[] = [];
    let tooLong = 0;
    let bytes = 0;
    await streamLines(
      file,
      { line: (l) => lines.push(l), tooLong: () => tooLong++, bytes: (n) => (bytes += n) },
      {
        maxLineBytes,
        signal: new AbortController().signal,
      },
    );
    return { lines, tooLong, bytes };
  }

  it('expands a rotated set oldest first and reads .gz transparently', async () => {
    const files = await resolveLogFiles(root, allowed, ['/var/log/web/access.log*']);
    expect(files.map((f) => f.hostPath)).toEqual([
      '/var/log/web/access.log.10.gz',
      '/var/log/web/access.log.2.gz',
      '/var/log/web/access.log.1',
      '/var/log/web/access.log',
    ]);
    const gz = await collect(files[1] as LogFile);
    expect(gz.lines).toEqual([line(3).trim(), line(4).trim()]);
  });

  it.each([
    ['/var/log/web/../../../etc/shadow', '".." is not allowed'],
    ['/etc/shadow', 'is outside the allowed paths (/var/log); set AUDIT_ALLOWED_PATHS to allow it'],
    ['/var/log/web/escape.log', 'is outside the allowed paths'],
    ['/var/log/web', 'is a directory: name the log files'],
    ['/var/log/web/pipe.log', 'is not a regular file'],
    ['/var/log/web/nope.log', 'no such file'],
    ['var/log/web/access.log', 'give an absolute path'],
    ['/var/log/*/access.log', 'wildcards are allowed only in the file name'],
    ['/var/log/web/*.json', 'no file matches'],
    ['/etc/*', 'is outside the allowed paths'],
  ])('refuses %s with a clear error', async (path, message) => {
    await expect(resolveLogFiles(root, allowed, [path])).rejects.toThrow(message);
  });

  it('caps very long lines, keeps CRLF and non-UTF-8 lines, and counts bytes', async () => {
    const path = join(logDir, 'mixed.log');
    const long = 'x'.repeat(100_000);
    writeFileSync(
      path,
      Buffer.concat([
        Buffer.from(`first\r\n${long}\nmiddle\n`),
        Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x0a]),
        Buffer.from(`${long}`),
        Buffer.from('\nlast-without-newline'),
      ]),
    );
    const [file] = await resolveLogFiles(root, allowed, ['/var/log/web/mixed.log']);
    const r = await collect(file as LogFile, 1024);
    expect(r.lines).toEqual(['first', 'middle', 'bad\ufffd\ufffd', 'last-without-newline']);
    expect(r.tooLong).toBe(2);
    expect(r.bytes).toBe(file?.size);
  });

  it('says a corrupt .gz is corrupt', async () => {
    writeFileSync(join(logDir, 'broken.log.gz'), gzipSync(line(1).repeat(100)).subarray(0, 30));
    const [file] = await resolveLogFiles(root, allowed, ['/var/log/web/broken.log.gz']);
    await expect(collect(file as LogFile)).rejects.toThrow('not a valid gzip file');
  });

  it('stops at once when cancelled', async () => {
    const path = join(logDir, 'big.log');
    writeFileSync(path, line(1).repeat(200_000));
    const [file] = await resolveLogFiles(root, allowed, ['/var/log/web/big.log']);
    const ac = new AbortController();
    let n = 0;
    await streamLines(
      file as LogFile,
      { line: () => ++n === 10 && ac.abort(), tooLong: () => {}, bytes: () => {} },
      {
        maxLineBytes: 1024,
        signal: ac.signal,
      },
    );
    expect(n).toBeLessThan(5000);
  });
});

describe('hostile patterns (review findings)', () => {
  it('matches globs in linear time, however many stars', async () => {
    const { globMatch } = await import('../../src/host/logFiles.js');
    expect(globMatch('access.log*', 'access.log.2.gz')).toBe(true);
    expect(globMatch('a?c*', 'abc')).toBe(true);
    expect(globMatch('*.gz', 'access.log')).toBe(false);
    // A regex of these would backtrack for hours on a miss.
    expect(globMatch(`${'*'.repeat(40)}Z`, 'x'.repeat(5000))).toBe(false);
  });

  it('refuses log formats whose patterns could backtrack', () => {
    expect(() => compileFormat('%h%l %t "%r" %>s')).toThrow('put a separator between directives');
    expect(() => compileFormat('%h %t "%r %r"')).toThrow('one directive per quoted field');
    expect(() => compileFormat(`%h %l %u %t "${'%r'.repeat(10)}X"`)).toThrow();
  });

  it('matches runs of spaces in linear time, in and out of quotes', () => {
    const cases: Array<[string, string]> = [
      // ` + + +` took 10 s on a 3 KB line of spaces (kept short here so a regression fails, not hangs).
      ['%h   "%r"', `192.0.2.1${' '.repeat(1_500)}x`],
      // A quoted field beside ` +`: 0.2-0.4 s per 16 KiB line, on every line of a file.
      ['%h "%r x"', `192.0.2.1 "${' '.repeat(16_000)}`],
      ['%h "x %r"', `192.0.2.1 "x${' '.repeat(16_000)}`],
    ];
    for (const [format, line] of cases) {
      const parse = compileFormat(format);
      // CPU time, so a loaded machine does not inflate it; linear is well under a millisecond.
      expect(
        cpuMs(() => expect(parse(line)).toBeUndefined()),
        format,
      ).toBeLessThan(100);
    }
    // Still one or more spaces between fields outside quotes, exactly the format's inside them.
    const p = compileFormat('%h   %u "%r x"');
    expect(p('192.0.2.1 bob "GET / HTTP/1.1 x"')).toMatchObject({ ip: '192.0.2.1', path: '/' });
    expect(p('192.0.2.1     bob "GET / HTTP/1.1 x"')).toMatchObject({ ip: '192.0.2.1' });
    expect(p('192.0.2.1 bob "GET / HTTP/1.1  x"')).toMatchObject({ path: '/' });
  });
});
