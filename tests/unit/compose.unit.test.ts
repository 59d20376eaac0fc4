import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  auditProject,
  ComposeError,
  interpolate,
  literalPart,
  parseDotenv,
  ProjectLoader,
  RULES,
} from '../../src/audit/compose/index.js';
import { parseImage } from '../../src/audit/compose/image.js';
import { publishedPorts } from '../../src/audit/compose/ports.js';
import { looksSecretKey } from '../../src/audit/compose/secrets.js';
import { confinePath } from '../../src/host/confine.js';
import { composeReader } from '../../src/host/composeFiles.js';
import { auditComposeTool } from '../../src/tools/auditCompose.js';
import type { ToolContext } from '../../src/tools/types.js';
import { configFrom } from '../helpers/servers.js';
import { cpuMsAsync } from '../helpers/cpuTime.js';

// confinePath as is, unless a test makes it answer a path swapped after confinement.
vi.mock('../../src/host/confine.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../src/host/confine.js')>();
  return { ...m, confinePath: vi.fn(m.confinePath) };
});

const env = (o: Record<string, string>) => new Map(Object.entries(o));

/** An in-memory project: file name -> text. */
async function audit(files: Record<string, string>, vars: Record<string, string> = {}, profiles = ['*']) {
  const loader = new ProjectLoader(env(vars), async (p) => {
    const text = files[p];
    if (text === undefined) throw new ComposeError(`${p}: no such file`);
    return { path: p, text };
  });
  const project = await loader.project(
    Object.keys(files).filter((f) => !f.includes('/lib/')),
    profiles,
  );
  return { project, findings: auditProject(project) };
}

describe('interpolation (compose-spec)', () => {
  const e = env({ SET: 'v', EMPTY: '' });
  it.each([
    ['${SET}', 'v'],
    ['$SET/x', 'v/x'],
    ['${UNSET:-d}', 'd'],
    ['${EMPTY:-d}', 'd'],
    ['${EMPTY-d}', ''],
    ['${UNSET-d}', 'd'],
    ['${SET:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${EMPTY+alt}', 'alt'],
    ['${UNSET:-${SET}-x}', 'v-x'],
    ['$$SET costs $$5', '$SET costs $5'],
    ['no vars', 'no vars'],
  ])('%s -> %s', (input, out) => {
    expect(interpolate(input, e).value).toBe(out);
  });

  it('reports unset variables and required ones, never values', () => {
    expect(interpolate('${NOPE}', e)).toMatchObject({ value: '', unset: ['NOPE'], errors: [] });
    expect(interpolate('${EMPTY:?give it}', e).errors).toEqual([
      'required variable EMPTY is missing a value: give it',
    ]);
    expect(interpolate('${EMPTY?x}', e).errors).toEqual([]);
    expect(interpolate('${1BAD}', e).errors).toHaveLength(1);
    expect(interpolate('${OPEN', e).errors).toHaveLength(1);
    expect(interpolate('a $ b', e).errors).toHaveLength(1);
  });

  it('takes nothing from the process environment', () => {
    process.env.AUDIT_COMPOSE_LEAK_TEST = 'from-process';
    try {
      expect(interpolate('${AUDIT_COMPOSE_LEAK_TEST}', new Map()).value).toBe('');
    } finally {
      delete process.env.AUDIT_COMPOSE_LEAK_TEST;
    }
  });

  it('literalPart keeps only what is written in the file', () => {
    expect(literalPart('${DB_PASSWORD}')).toBe('');
    expect(literalPart('${DB_PASSWORD:?required}')).toBe('');
    expect(literalPart('${DB_PASSWORD:-hunter2}')).toBe('hunter2');
    expect(literalPart('hunter2')).toBe('hunter2');
  });
});

describe('dotenv', () => {
  it('parses quotes, export, comments and earlier references', () => {
    const d = parseDotenv(
      [
        '# c',
        'export A=1',
        "B='${A} raw'",
        'C="x\\ny ${A}"',
        'D=plain # comment',
        'E=${A}2',
        'bad line here',
        'F',
        'G="multi',
        'line"',
      ].join('\n'),
      '/p/.env',
    );
    expect(Object.fromEntries(d.vars)).toEqual({
      A: '1',
      B: '${A} raw',
      C: 'x\ny 1',
      D: 'plain',
      E: '12',
      G: 'multi\nline',
    });
    expect(d.notes).toEqual(['/p/.env:7: not a KEY=VALUE line, ignored']);
  });
});

describe('helpers', () => {
  it.each([
    ['nginx', { name: 'nginx' }],
    ['nginx:1.27', { name: 'nginx', tag: '1.27' }],
    ['registry:5000/app', { name: 'registry:5000/app' }],
    ['registry:5000/app:2@sha256:ab', { name: 'registry:5000/app', tag: '2', digest: 'sha256:ab' }],
  ])('parseImage %s', (ref, out) => {
    expect(parseImage(ref)).toEqual({ digest: undefined, ...out });
  });

  it.each([
    ['DB_PASSWORD', true],
    ['MYSQL_ROOT_PASSWORD', true],
    ['STRIPE_API_KEY', true],
    ['GITHUB_TOKEN', true],
    ['SMTP_PASS', true],
    ['POSTGRES_PASSWORD_FILE', false],
    ['TOKEN_TTL', false],
    ['PASSWORD_MIN_LENGTH', false],
    ['LOG_LEVEL', false],
    ['KEYCLOAK_URL', false],
    ['APP_KEY', true],
    // Kafka Connect's key/value converters (found in a public compose corpus): not secrets.
    ['CONNECT_KEY_CONVERTER', false],
    ['CONNECT_INTERNAL_KEY_CONVERTER', false],
  ])('looksSecretKey %s', (k, yes) => {
    expect(looksSecretKey(k)).toBe(yes);
  });

  it('parses port syntaxes, IPv6 and ranges included', async () => {
    const { project } = await audit({
      'c.yml': `services:\n  s:\n    ports:\n      - "[::1]:5432:5432"\n      - "6000-6002:6000-6002/udp"\n      - 9200\n      - {target: 80, host_ip: 0.0.0.0, published: "8080"}\n`,
    });
    const ports = publishedPorts(
      project.services[0]?.node ?? { kind: 'map', entries: new Map(), loc: { file: '', line: 0, column: 0 } },
    );
    expect(ports.map((p) => [p.hostIp, p.targets, p.published])).toEqual([
      ['::1', [5432], '5432'],
      ['', [6000, 6001, 6002], '6000-6002'],
      ['', [9200], '(random)'],
      ['0.0.0.0', [80], '8080'],
    ]);
  });
});

describe('loading and merging', () => {
  it('merges overrides by compose rules and keeps each node where it was written', async () => {
    const { findings, project } = await audit({
      'base.yml':
        'services:\n  web:\n    image: nginx:1.27\n    environment: [A=1, TZ=UTC]\n    command: [a, b]\n    volumes: ["./a:/data"]\n',
      'over.yml':
        'services:\n  web:\n    environment: {A: "2"}\n    command: [c]\n    volumes: ["/etc:/data"]\n    privileged: "true"\n',
    });
    const web = project.services[0];
    expect(web?.loc).toEqual({ file: 'base.yml', line: 2, column: 3 });
    const priv = findings.find((f) => f.rule === 'compose.privileged');
    expect(priv).toMatchObject({
      file: 'over.yml',
      line: 6,
      column: 17,
      service: 'web',
      id: 'compose.privileged:web',
    });
    // The later volume with the same target replaces the earlier one.
    const vol = findings.filter((f) => f.rule === 'compose.volume.sensitive_host_path');
    expect(vol.map((f) => [f.file, f.line])).toEqual([['over.yml', 5]]);
    expect(findings.some((f) => f.rule === 'compose.tz.missing')).toBe(false);
  });

  it('follows extends across files and refuses loops', async () => {
    const { findings } = await audit({
      '/p/c.yml': 'services:\n  a:\n    extends: {file: lib/base.yml, service: b}\n',
      '/p/lib/base.yml': 'services:\n  b:\n    cap_add: [SYS_ADMIN]\n',
    });
    expect(findings.find((f) => f.rule === 'compose.cap_add.dangerous')).toMatchObject({
      file: '/p/lib/base.yml',
      line: 3,
      service: 'a',
    });
    await expect(audit({ 'c.yml': 'services:\n  a: {extends: b}\n  b: {extends: a}\n' })).rejects.toThrow(
      /extends loop/,
    );
    await expect(audit({ 'c.yml': 'services:\n  a: {extends: nope}\n' })).rejects.toThrow(/no service nope/);
  });

  it('selects services by profile as Compose does', async () => {
    const files = { 'c.yml': 'services:\n  a: {image: x:1}\n  d: {image: x:1, profiles: [debug]}\n' };
    expect((await audit(files, {}, [])).project.services.map((s) => s.name)).toEqual(['a']);
    expect((await audit(files, {}, [])).project.skipped[0]?.name).toBe('d');
    expect((await audit(files, {}, ['debug'])).project.services.map((s) => s.name)).toEqual(['a', 'd']);
  });

  it('expands aliases within a node budget and reports bad YAML without its source text', async () => {
    const lol = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i++)
      lol.push(
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`,
      );
    await expect(audit({ 'c.yml': `${lol.join('\n')}\nservices: {}\n` })).rejects.toThrow(
      /more than 200000 nodes/,
    );
    const bad = audit({ 'c.yml': 'services:\n  a:\n    environment:\n      PASSWORD: "planted-bad-yaml\n' });
    await expect(bad).rejects.toThrow(/^c\.yml:\d+:\d+: not valid YAML/);
    await expect(bad).rejects.not.toThrow(/planted/);
  });
});

describe('aliases', () => {
  it('resolve each alias to the latest anchor before it', async () => {
    const { project } = await audit({
      'c.yml': 'x-a: &img one\nx-b: *img\nx-c: &img two\nservices:\n  a: {image: *img, labels: [*img]}\n',
    });
    const a = project.services[0]?.node;
    expect(a?.entries.get('image')?.value).toMatchObject({ value: 'two', loc: { line: 3 } });
    await expect(audit({ 'c.yml': 'services:\n  a: {image: *nope}\n' })).rejects.toThrow(/nope/);
  });

  it('expand 50k aliases in linear time (was O(aliases x document): minutes)', async () => {
    const text = `x-a: &a v\nx-list:\n${'  - *a\n'.repeat(50_000)}services:\n  a: {image: *a}\n`;
    let project!: Awaited<ReturnType<typeof audit>>['project'];
    const ms = await cpuMsAsync(async () => {
      ({ project } = await audit({ 'c.yml': text }));
    });
    expect(project.services[0]?.node.entries.get('image')?.value).toMatchObject({ value: 'v' });
    // 0.5-1 s of CPU, nearly all of it yaml's own parse; before the fix 20k aliases took 37 s and
    // 50k would take minutes. CPU time, so a loaded machine does not inflate it.
    expect(ms).toBeLessThan(5000);
  });
});

describe('cancellation and the deadline', () => {
  const dir = mkdtempSync(join(tmpdir(), 'compose-unit-'));
  for (const p of ['one', 'two', 'three']) {
    mkdirSync(join(dir, p));
    writeFileSync(join(dir, p, 'compose.yml'), `services:\n  ${p}:\n    image: nginx:1.27\n`);
  }
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const paths = ['one', 'two', 'three'].map((p) => join(dir, p));

  function ctx(over: { deadlineSeconds?: number; signal?: AbortSignal } = {}) {
    const config = configFrom({ AUDIT_ALLOWED_PATHS: dir, HOST_ROOT: '/' });
    return {
      config: { ...config, TOOL_DEADLINE_SECONDS: over.deadlineSeconds ?? config.TOOL_DEADLINE_SECONDS },
      host: { proc: '/proc', sys: '/sys', root: '/' },
      signal: over.signal ?? new AbortController().signal,
      progress: async () => undefined,
    } as unknown as ToolContext;
  }

  it('the loader and the reader stop on an aborted signal before reading anything', async () => {
    const load = vi.fn(async (p: string) => ({ path: p, text: 'services: {}\n' }));
    const aborted = AbortSignal.abort();
    await expect(new ProjectLoader(new Map(), load, aborted).project(['c.yml'])).rejects.toThrow(/abort/i);
    expect(load).not.toHaveBeenCalled();
    const reader = composeReader('/', [dir], aborted);
    await expect(reader.read(join(paths[0] as string, 'compose.yml'))).rejects.toThrow(/abort/i);
    expect(reader.filesRead()).toBe(0);
  });

  it('a cancelled call is a tool error', async () => {
    const args = { paths, limit: 200 };
    await expect(auditComposeTool.handler(args, ctx({ signal: AbortSignal.abort() }))).rejects.toThrow(
      'Cancelled by the client',
    );
  });

  /** ProjectLoader.project, waiting `before` and `after` ms around its work (outlasting the deadline). */
  function slowProjects(before: number, after: number) {
    const project = ProjectLoader.prototype.project;
    return vi.spyOn(ProjectLoader.prototype, 'project').mockImplementation(async function (
      this: ProjectLoader,
      ...a
    ) {
      await new Promise((r) => setTimeout(r, before));
      const out = await project.apply(this, a);
      await new Promise((r) => setTimeout(r, after));
      return out;
    });
  }

  it('the deadline before anything is done is a clear tool error', async () => {
    const spy = slowProjects(100, 0);
    try {
      await expect(
        auditComposeTool.handler({ paths, limit: 200 }, ctx({ deadlineSeconds: 0.02 })),
      ).rejects.toThrow(/^Nothing audited: the 0\.02 s deadline \(TOOL_DEADLINE_SECONDS\) was reached/);
    } finally {
      spy.mockRestore();
    }
  });

  it('the deadline after a project answers with it and partial: true', async () => {
    const spy = slowProjects(0, 300);
    try {
      const r = await auditComposeTool.handler({ paths, limit: 200 }, ctx({ deadlineSeconds: 0.2 }));
      expect(r.structured.partial).toBe(true);
      expect(r.structured.projects.map((p) => p.services.map((s) => s.name))).toEqual([['one']]);
      expect(r.summary).toMatch(/PARTIAL: .*two\/compose\.yml, .*three\/compose\.yml not audited/);
      const full = await auditComposeTool.handler({ paths, limit: 200 }, ctx());
      expect(full.structured.partial).toBe(false);
      expect(full.structured.projects).toHaveLength(3);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('reading compose files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'compose-read-'));
  const outside = mkdtempSync(join(tmpdir(), 'compose-outside-'));
  writeFileSync(join(dir, 'compose.yml'), 'services: {}\n');
  writeFileSync(join(outside, 'secret.yml'), 'planted: outside\n');
  symlinkSync(join(outside, 'secret.yml'), join(dir, 'swapped.yml'));
  execFileSync('mkfifo', [join(dir, 'fifo.yml')]);
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('reads a confined regular file through one handle', async () => {
    const reader = composeReader('/', [dir]);
    expect(await reader.read(join(dir, 'compose.yml'))).toEqual({
      path: join(dir, 'compose.yml'),
      text: 'services: {}\n',
    });
    expect(reader.filesRead()).toBe(1);
  });

  it('refuses a FIFO without blocking, and a symlink swapped in after confinement', async () => {
    const reader = composeReader('/', [dir]);
    await expect(reader.read(join(dir, 'fifo.yml'))).rejects.toThrow(/is not a regular file/);
    // confinePath saw a regular file; by the time it is opened the name is a symlink leading out.
    vi.mocked(confinePath).mockResolvedValueOnce(join(dir, 'swapped.yml'));
    await expect(reader.read(join(dir, 'compose.yml'))).rejects.toThrow(/cannot read it \(ELOOP\)/);
    expect(reader.filesRead()).toBe(0);
  });
});

describe('rules', () => {
  it('never puts a secret value in a finding', async () => {
    const { findings } = await audit(
      {
        'c.yml':
          'services:\n  a:\n    environment:\n      - DB_PASSWORD=planted-list\n      - URL=redis://u:planted-url@r:6379\n      - FROM_ENV=${SECRET_VALUE}\n    build: {context: ., args: [API_KEY=planted-arg]}\n    image: x:1\n',
      },
      { SECRET_VALUE: 'planted-env' },
    );
    const secrets = findings.filter((f) => f.rule === 'compose.secrets.plaintext');
    expect(secrets.map((f) => f.evidence.split(' ').slice(0, 3).join(' '))).toEqual([
      'environment DB_PASSWORD holds',
      'environment URL is',
      'build arg API_KEY',
    ]);
    expect(JSON.stringify(findings)).not.toMatch(/planted/);
  });

  it('grades healthchecks by restart policy and skips one-shot jobs', async () => {
    const { findings } = await audit({
      'c.yml':
        'services:\n  web: {image: x:1, restart: always, depends_on: {mig: {condition: service_completed_successfully}}}\n  worker: {image: x:1}\n  mig: {image: x:1}\n',
    });
    const hc = findings
      .filter((f) => f.rule === 'compose.healthcheck.missing')
      .map((f) => [f.service, f.severity]);
    expect(hc).toEqual([
      ['web', 'medium'],
      ['worker', 'low'],
    ]);
    expect(findings.some((f) => f.service === 'mig' && f.rule === 'compose.restart.missing')).toBe(false);
  });

  it('marks a documented read-only docker.sock high, not critical', async () => {
    const raw = readFileSync(
      join(import.meta.dirname, '..', 'fixtures', 'compose', 'own', 'socket-documented', 'compose.yml'),
      'utf8',
    );
    const { findings } = await audit({ 's.yml': raw });
    expect(
      findings.filter((f) => f.rule === 'compose.volume.docker_socket').map((f) => [f.service, f.severity]),
    ).toEqual([
      ['proxy', 'high'],
      ['watcher', 'critical'],
    ]);
  });

  it('every rule is documented in docs/rules.md with its severity', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'rules.md'), 'utf8');
    for (const [id, meta] of Object.entries(RULES)) {
      const section = doc.split(/^### /m).find((s) => s.startsWith(`\`${id}\``));
      expect(section, id).toBeDefined();
      expect(section).toMatch(new RegExp(`Severity: \\*\\*${meta.severity}\\*\\*`));
    }
  });
});
