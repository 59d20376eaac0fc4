import { describe, expect, it } from 'vitest';
import { digestArgs, redactUrlsInText } from '../../src/observability/argDigest.js';

describe('the audit log argument digest', () => {
  it('keeps what was asked and drops secrets, paths and URL credentials', () => {
    expect(
      digestArgs({
        targets: ['example.org:443', 'https://user:pw@example.org/a?token=t#f'],
        password: 'hunter2',
        apiKey: { nested: 'x' },
        paths: ['/var/log/nginx/access.log', '../../etc/shadow'],
        caFile: '~/ca.pem',
        note: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln',
        blob: 'AKIAIOSFODNN7EXAMPLEwJalrXUtnFEMI7K7MDENG',
        warnDays: 30,
        checkProtocols: true,
        label: null,
      }),
    ).toEqual({
      targets: ['example.org:443', 'https://example.org/a'],
      password: '[redacted]',
      apiKey: '[redacted]',
      paths: ['[path]', '[path]'],
      caFile: '[path]',
      note: '[redacted]',
      blob: '[redacted]',
      warnDays: 30,
      checkProtocols: true,
      label: null,
    });
  });

  it('bounds what it keeps: long strings, long arrays, deep nesting', () => {
    const d = digestArgs({
      s: 'word '.repeat(100),
      a: Array.from({ length: 25 }, (_, i) => i),
      n: { a: { b: { c: { d: 1 } } } },
    }) as {
      s: string;
      a: unknown[];
      n: unknown;
    };
    expect(d.s.length).toBe(121);
    expect(d.a).toHaveLength(21);
    expect(d.a.at(-1)).toBe('[+5 more]');
    expect(d.n).toEqual({ a: { b: { c: '[nested]' } } });
  });

  it('redacts credentials in URL forms without //, and user info up to the last @', () => {
    expect(
      digestArgs({
        u: ['https:alice:S3cret@db.example/x', 'HTTPS:/alice:S3cret@db.example/x', 'example.org:443'],
      }),
    ).toEqual({
      u: ['[redacted]', '[redacted]', 'example.org:443'],
    });
    expect(redactUrlsInText('see https://alice:p@ss@h.example/x now')).toBe('see https://h.example/x now');
  });

  it('strips user info and queries from URLs in free text', () => {
    expect(redactUrlsInText('http://admin:pw@127.0.0.1:1/login?token=abc: connection refused')).toBe(
      'http://127.0.0.1:1/login: connection refused',
    );
  });
});
