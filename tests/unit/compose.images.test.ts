/**
 * Issue 16, audit_compose: what the image does counts. USER and HEALTHCHECK are read from the
 * Dockerfile of `build:` services (through the tool's confined reader, on real files), and from
 * the table of well-known images; secrets on command lines are named by flag, never by value.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commandSecrets, shellWords } from '../../src/audit/compose/commandSecrets.js';
import { dockerfileFacts } from '../../src/audit/compose/dockerfile.js';
import { imageDefaults, imageName } from '../../src/audit/compose/imageDefaults.js';
import { ProjectLoader } from '../../src/audit/compose/index.js';
import { auditComposeTool } from '../../src/tools/auditCompose.js';
import type { ToolContext } from '../../src/tools/types.js';
import { configFrom } from '../helpers/servers.js';

describe('Dockerfile facts', () => {
  it('the last USER of the last stage counts: USER root then USER app is app', () => {
    const f = dockerfileFacts('FROM node:22\nUSER root\nRUN apt-get update\nUSER app\nCMD ["node"]\n');
    expect(f).toMatchObject({ user: 'app', userLine: 4, healthcheck: null, baseImage: 'node:22' });
  });

  it('multi-stage: a builder stage USER does not leak into an unrelated final stage', () => {
    const f = dockerfileFacts(
      'FROM golang:1.22 AS build\nUSER builder\nRUN go build\n\nFROM alpine:3.20\nCOPY --from=build /app /app\n',
    );
    expect(f).toMatchObject({ user: null, baseImage: 'alpine:3.20', stage: '1' });
  });

  it('a stage FROM an earlier stage inherits its USER and HEALTHCHECK; target picks the stage', () => {
    const text = [
      'FROM python:3.12 AS base',
      'USER 10001',
      'HEALTHCHECK --interval=30s CMD curl -f http://localhost/ || exit 1',
      'FROM base AS prod',
      'RUN true',
      'FROM base AS debug',
      'USER root',
      'HEALTHCHECK NONE',
    ].join('\n');
    expect(dockerfileFacts(text, 'prod')).toMatchObject({
      stage: 'prod',
      user: '10001',
      healthcheck: 'set',
      baseImage: 'python:3.12',
    });
    expect(dockerfileFacts(text)).toMatchObject({ stage: 'debug', user: 'root', healthcheck: 'none' });
  });

  it('ARG and ENV: global ARGs in FROM (overridden by build args), stage ARG/ENV in USER', () => {
    const text = [
      'ARG BASE=grafana/grafana:11.2.0',
      'FROM ${BASE}',
      'ARG APP_UID="1001"',
      'ENV APP_USER=svc',
      'USER ${APP_USER}:$APP_UID',
    ].join('\n');
    expect(dockerfileFacts(text)).toMatchObject({ user: 'svc:1001', baseImage: 'grafana/grafana:11.2.0' });
    expect(dockerfileFacts(text, undefined, new Map([['APP_UID', '0']]))?.user).toBe('svc:0');
  });

  it('continuations, comments inside them, heredoc bodies and the escape directive', () => {
    const text = [
      '# escape=`',
      'FROM mcr.microsoft.com/windows/servercore:ltsc2022',
      'RUN echo a `',
      '# a comment inside the continuation',
      '    && echo b',
      'RUN <<EOF',
      'USER root',
      'HEALTHCHECK NONE',
      'EOF',
      'USER ContainerUser',
    ].join('\n');
    expect(dockerfileFacts(text)).toMatchObject({ user: 'ContainerUser', userLine: 10, healthcheck: null });
  });

  it('no FROM: nothing to say', () => {
    expect(dockerfileFacts('# just a comment\n')).toBeNull();
  });
});

describe('well-known images', () => {
  it.each([
    ['grafana/grafana:11.2.0', '472'],
    ['docker.io/grafana/grafana', '472'],
    ['prom/prometheus:v2.53.0', 'nobody'],
    ['docker.elastic.co/elasticsearch/elasticsearch:8.15.0', '1000:0'],
    ['elasticsearch:8.15.0', '1000:0'],
    ['docker.elastic.co/kibana/kibana:8.15.0', '1000'],
    ['dpage/pgadmin4:8.11@sha256:abcd', '5050'],
  ])('%s runs as %s', (ref, user) => {
    expect(imageDefaults(ref)?.user).toBe(user);
  });

  it('names are normalised; unknown images have no entry', () => {
    expect(imageName('docker.io/library/nginx:1.27')).toBe('nginx');
    expect(imageName('registry:5000/team/app:2')).toBe('registry:5000/team/app');
    expect(imageDefaults('nginx:1.27')).toBeUndefined();
    expect(imageDefaults('louislam/uptime-kuma:1')?.healthcheck).toBe(true);
  });
});

describe('secrets on command lines', () => {
  const service = async (yaml: string) => {
    const loader = new ProjectLoader(new Map(), async (p) => ({ path: p, text: yaml }));
    const project = await loader.project(['/c.yml']);
    return project.services[0]!.node;
  };

  it('shell words: quotes kept together, separators split off', () => {
    expect(shellWords(`a "b c" 'd e'&&f;g`)).toEqual(['a', 'b c', 'd e', '&&', 'f', ';', 'g']);
  });

  it.each([
    [
      'sqlcmd -P (issue 16)',
      'test: /opt/mssql-tools18/bin/sqlcmd -S localhost -U sa -P example_123 -Q "SELECT 1"',
      '-P (sqlcmd)',
    ],
    [
      'mysqladmin -p attached, exec form',
      'test: ["CMD", "mysqladmin", "ping", "-uroot", "-ppass123"]',
      '-p (mysqladmin)',
    ],
    [
      'mysql --password=',
      'test: ["CMD-SHELL", "mysql --user=root --password=pass123 -e \\"SELECT 1\\""]',
      '--password (mysql)',
    ],
    ['redis-cli -a', 'test: ["CMD", "redis-cli", "-a", "hunter2", "ping"]', '-a (redis-cli)'],
    [
      'PGPASSWORD in a shell line',
      'test: ["CMD-SHELL", "PGPASSWORD=pw123 psql -U app -c \\"select 1\\""]',
      'PGPASSWORD',
    ],
    ['mongosh -p', 'test: mongosh -u admin -p adminpw --eval "db.adminCommand(\'ping\')"', '-p (mongosh)'],
    ['curl -u user:password', 'test: curl -fsS -u elastic:changeme http://localhost:9200', '-u (curl)'],
  ])('%s', async (_name, hc, carrier) => {
    const node = await service(`services:\n  s:\n    image: x:1\n    healthcheck:\n      ${hc}\n`);
    expect(commandSecrets(node).map((h) => h.carrier)).toEqual([carrier]);
  });

  it.each([
    ['a reference with $$', 'test: ["CMD-SHELL", "mysqladmin ping -p$$MYSQL_ROOT_PASSWORD"]'],
    ['an interpolated reference', 'test: ["CMD-SHELL", "mysqladmin ping -p${MYSQL_ROOT_PASSWORD}"]'],
    ['-p as a port', 'test: ["CMD", "pg_isready", "-h", "localhost", "-p", "5432"]'],
    ['mysql -p alone prompts', 'test: ["CMD", "mysql", "-p", "mydb"]'],
    ['a password file', 'test: ["CMD-SHELL", "app --password-file=/run/secrets/db check"]'],
    ['curl -u without a password', 'test: curl -u admin http://localhost/'],
    // awesome-compose's MySQL healthcheck: the password is read from a secret at run time.
    [
      'command substitution',
      `test: ['CMD-SHELL', 'mysqladmin ping -h 127.0.0.1 --password="$$(cat /run/secrets/db-password)" --silent']`,
    ],
  ])('no finding for %s', async (_name, hc) => {
    const node = await service(`services:\n  s:\n    image: x:1\n    healthcheck:\n      ${hc}\n`);
    expect(commandSecrets(node)).toEqual([]);
  });
});

describe('audit_compose reads the Dockerfile of build: services (real files, confined)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'compose-build-'));
  const outside = mkdtempSync(join(tmpdir(), 'compose-build-outside-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });
  const write = (rel: string, text: string) => {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
  };
  write(
    'app/api/Dockerfile',
    'FROM node:22 AS deps\nUSER root\nFROM node:22\nUSER root\nUSER node\nHEALTHCHECK CMD node health.js\n',
  );
  write('app/worker/build/Worker.dockerfile', 'ARG UID=1001\nFROM python:3.12\nARG UID\nUSER $UID\n');
  write('app/rootly/Dockerfile', 'FROM debian:12\nUSER app\nUSER 0\nHEALTHCHECK NONE\n');
  write('app/graf/Dockerfile', 'FROM grafana/grafana:11.2.0\nCOPY dash /etc/grafana/dash\n');
  writeFileSync(join(outside, 'Dockerfile'), 'FROM alpine\nUSER nobody\n');
  symlinkSync(outside, join(dir, 'app', 'escape'));
  write(
    'app/compose.yml',
    [
      'services:',
      '  api: {build: ./api, restart: unless-stopped}',
      '  worker: {build: {context: ./worker, dockerfile: build/Worker.dockerfile}}',
      '  rootly: {build: rootly}',
      '  graf: {build: ./graf}',
      '  escape: {build: ./escape}',
      '  inline:',
      '    build:',
      '      context: .',
      '      dockerfile_inline: |',
      '        FROM alpine:3.20',
      '        USER 65534',
      '  grafana: {image: "grafana/grafana:11.2.0"}',
      '  plain: {image: "nginx:1.27"}',
      '  password:',
      '    image: "mcr.microsoft.com/mssql/server:2022-latest"',
      '    healthcheck:',
      '      test: /opt/mssql-tools/bin/sqlcmd -S localhost -U sa -P example_123 -Q "SELECT 1"',
      '',
    ].join('\n'),
  );

  it('user.root and healthcheck.missing follow the image; the value of a secret never appears', async () => {
    const config = configFrom({ AUDIT_ALLOWED_PATHS: dir, HOST_ROOT: '/' });
    const ctx = {
      config,
      host: { proc: '/proc', sys: '/sys', root: '/' },
      signal: new AbortController().signal,
      progress: async () => undefined,
    } as unknown as ToolContext;
    const r = await auditComposeTool.handler({ paths: [join(dir, 'app')], limit: 1000 }, ctx);
    const p = r.structured.projects[0]!;
    const has = (svc: string, rule: string) =>
      p.services.find((s) => s.name === svc)!.findings.some((f) => f.rule === rule);
    // Dockerfile USER node + HEALTHCHECK in the last stage (the builder's USER root does not count).
    expect(has('api', 'compose.user.root')).toBe(false);
    expect(has('api', 'compose.healthcheck.missing')).toBe(false);
    // A custom dockerfile path, a global ARG redeclared in the stage.
    expect(has('worker', 'compose.user.root')).toBe(false);
    // USER app then USER 0: root; HEALTHCHECK NONE: missing, and the evidence says why.
    expect(has('rootly', 'compose.user.root')).toBe(true);
    const hc = p.services
      .find((s) => s.name === 'rootly')!
      .findings.find((f) => f.rule === 'compose.healthcheck.missing');
    expect(hc?.evidence).toContain('HEALTHCHECK NONE');
    // No USER in the Dockerfile: the base image's (grafana runs as 472).
    expect(has('graf', 'compose.user.root')).toBe(false);
    expect(has('inline', 'compose.user.root')).toBe(false);
    expect(has('grafana', 'compose.user.root')).toBe(false);
    expect(has('plain', 'compose.user.root')).toBe(true);
    // A context that leads outside the allowed paths is not read: a note, and the old verdict.
    expect(has('escape', 'compose.user.root')).toBe(true);
    expect(p.notes.join('\n')).toMatch(/service escape: Dockerfile not read: .*outside the allowed paths/);
    // The password: found, named by flag, never shown.
    expect(has('password', 'compose.secrets.command_line')).toBe(true);
    expect(JSON.stringify(r)).not.toContain('example_123');
  });
});
