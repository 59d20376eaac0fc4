/**
 * The Dockerfile's hardening, asserted from its text: hadolint is in neither registry this
 * project builds from (npm, Debian), and no Docker engine runs here, so this test reads the
 * instructions the way the builder does (continuation lines joined, comments dropped, ARG
 * defaults substituted into FROM) and checks the properties issue 9 asks for, plus the
 * hadolint rules that apply to this file (DL3002 root user, DL3007 latest, DL3008/9/15 apt
 * hygiene, DL3020 ADD, DL3025 exec-form ENTRYPOINT/CMD, DL4006-style pipes into a shell).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '..', '..');

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  image: string;
  name: string | undefined;
  body: Instruction[];
}

/** Instructions in order: `\` continuations joined, comment lines dropped (also inside a continuation). */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue;
    const line = raw.trimEnd();
    if (line.endsWith('\\')) {
      current += line.slice(0, -1) + ' ';
      continue;
    }
    current += line;
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(current);
    if (m)
      out.push({ op: (m[1] as string).toUpperCase(), args: (m[2] as string).replace(/\s+/g, ' ').trim() });
    current = '';
  }
  return out;
}

/** ARG defaults declared before the first FROM, as `FROM ${NAME}` sees them. */
function globalArgs(ins: Instruction[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (const i of ins) {
    if (i.op === 'FROM') break;
    if (i.op !== 'ARG') continue;
    const [name, ...value] = i.args.split('=');
    if (name && value.length) args[name] = value.join('=').replace(/^"(.*)"$/, '$1');
  }
  return args;
}

function stages(ins: Instruction[]): Stage[] {
  const args = globalArgs(ins);
  const out: Stage[] = [];
  for (const i of ins) {
    if (i.op === 'FROM') {
      const [ref, as, name] = i.args.replace(/^--platform=\S+\s+/, '').split(' ');
      const image = (ref ?? '').replace(/\$\{?(\w+)\}?/g, (_, v: string) => args[v] ?? `<unset ${v}>`);
      out.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, body: [] });
    } else out.at(-1)?.body.push(i);
  }
  return out;
}

/** The JSON array of an exec-form ENTRYPOINT/CMD/HEALTHCHECK CMD, or undefined for shell form. */
function execForm(args: string): string[] | undefined {
  try {
    const v: unknown = JSON.parse(args);
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
  } catch {
    return undefined;
  }
}

const text = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
const all = instructions(text);
const built = stages(all);
const final = built.at(-1) as Stage;
const finalOps = (op: string) => final.body.filter((i) => i.op === op);
const runs = (s: Stage) => s.body.filter((i) => i.op === 'RUN').map((i) => i.args);

describe('Dockerfile', () => {
  it('is a multi-stage build: dev dependencies to compile, production dependencies to run', () => {
    expect(built.length).toBeGreaterThanOrEqual(2);
    const build = built.find((s) => s.name === 'build');
    expect(build, 'a stage named build').toBeDefined();
    expect(runs(build as Stage).some((r) => /\bnpm ci\b(?!.*--omit=dev)/.test(r))).toBe(true);
    expect(runs(build as Stage).some((r) => /\bnpm run build\b/.test(r))).toBe(true);
    expect(runs(final).some((r) => /\bnpm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(runs(final).some((r) => /npm run build|\btsc\b/.test(r))).toBe(false);
    // Only the compiled output crosses over, from a named stage.
    const fromStage = finalOps('COPY').filter((c) => c.args.startsWith('--from='));
    expect(fromStage.map((c) => c.args)).toEqual(['--from=build /app/dist ./dist']);
    for (const s of built.slice(1))
      for (const c of s.body.filter((i) => i.op === 'COPY' && i.args.startsWith('--from=')))
        expect(built.map((b) => b.name)).toContain(/^--from=(\S+)/.exec(c.args)?.[1]);
  });

  it('starts from a Node.js LTS bookworm-slim base pinned by digest, the same in every stage', () => {
    for (const s of built) {
      expect(s.image).toMatch(/^node:(20|22)(\.\d+){0,2}-bookworm-slim@sha256:[0-9a-f]{64}$/);
      expect(s.image).not.toMatch(/:latest\b/);
    }
    expect(new Set(built.map((s) => s.image)).size).toBe(1);
  });

  it('runs as a non-root user, set after everything that needs root', () => {
    const users = finalOps('USER');
    expect(users.length).toBeGreaterThan(0);
    const user = (users.at(-1) as Instruction).args;
    const [uid] = user.split(':');
    expect(uid).not.toMatch(/^(root|0)$/);
    // The compose files and the Kubernetes manifests assume uid 1000 (`node` in the image).
    expect(uid).toMatch(/^(node|1000)$/);
    const lastUser = final.body.lastIndexOf(users.at(-1) as Instruction);
    for (const [i, ins] of final.body.entries())
      if (ins.op === 'RUN') expect(i, `RUN after USER: ${ins.args}`).toBeLessThan(lastUser);
  });

  it('uses tini as PID 1 and execs node directly (exec form, no shell in between)', () => {
    const entrypoint = execForm((finalOps('ENTRYPOINT').at(-1) as Instruction).args);
    expect(entrypoint?.[0]).toMatch(/(^|\/)tini$/);
    expect(entrypoint?.at(-1)).toBe('--');
    const cmd = execForm((finalOps('CMD').at(-1) as Instruction).args);
    expect(cmd).toEqual(['node', 'dist/server.js']);
    // tini comes from Debian in the runtime stage, installed the way hadolint wants it.
    const apt = runs(final).find((r) => /apt-get install/.test(r)) ?? '';
    expect(apt).toMatch(/apt-get install -y --no-install-recommends tini\b/);
    expect(apt).toMatch(/apt-get update/);
    expect(apt).toMatch(/rm -rf \/var\/lib\/apt\/lists\/\*/);
  });

  it('has a HEALTHCHECK on /health', () => {
    const hc = finalOps('HEALTHCHECK');
    expect(hc).toHaveLength(1);
    const args = (hc[0] as Instruction).args;
    expect(args).not.toMatch(/^NONE\b/);
    expect(args).toMatch(/--interval=\d+s/);
    expect(args).toMatch(/--timeout=\d+s/);
    const cmd = execForm(args.replace(/^.*?CMD /, ''));
    expect(cmd?.[0]).toBe('node');
    expect(cmd?.join(' ')).toContain('/health');
  });

  it('writes only to DATA_DIR: /data is the one path the runtime user owns', () => {
    const env = finalOps('ENV')
      .map((e) => e.args)
      .join(' ');
    expect(env).toMatch(/\bDATA_DIR=\/data\b/);
    expect(env).toMatch(/\bNODE_ENV=production\b/);
    const chowns = runs(final).flatMap((r) => r.match(/chown \S+ \S+/g) ?? []);
    expect(chowns).toEqual(['chown node:node /data']);
    expect(runs(final).join('\n'), 'no mode changes: nothing world-writable').not.toMatch(/\bchmod\b/);
    // The working directory is root's; the server cannot change its own code.
    expect(finalOps('WORKDIR').map((w) => w.args)).toEqual(['/app']);
    expect(finalOps('COPY').every((c) => !/--chown/.test(c.args))).toBe(true);
  });

  it('keeps secrets out of the layers and fetches nothing at build time but packages', () => {
    for (const i of all) {
      expect(i.op, `ADD is not needed: ${i.args}`).not.toBe('ADD');
      if (i.op === 'ENV' || i.op === 'ARG' || i.op === 'LABEL')
        expect(i.args, `${i.op} ${i.args}`).not.toMatch(
          /(PASS(WORD)?|SECRET|TOKEN|API_?KEY|PRIVATE|CREDENTIAL|REDIS_URL|NPM_?AUTH|_AUTH)\w*=/i,
        );
      if (i.op === 'RUN') {
        expect(i.args).not.toMatch(/\b(curl|wget)\b/);
        expect(i.args).not.toMatch(/\|\s*(ba)?sh\b/);
        expect(i.args).not.toMatch(/\bsudo\b/);
        expect(i.args, 'use WORKDIR, not cd (DL3003)').not.toMatch(/(^|&&\s*)cd /);
      }
    }
    // Only the files the build needs are copied, never the whole context.
    for (const c of all.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from=')))
      expect(c.args).not.toMatch(/^\.\s/);
    // npm and its cache do not ship in the final image.
    expect(runs(final).some((r) => /npm cache clean --force/.test(r))).toBe(true);
  });

  it('exposes the server port', () => {
    expect(finalOps('EXPOSE').map((e) => e.args)).toEqual(['3000']);
  });
});

describe('.dockerignore', () => {
  const lines = readFileSync(join(REPO, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const allowed = lines.filter((l) => l.startsWith('!')).map((l) => l.slice(1));

  it('is an allowlist: everything is ignored but what the Dockerfile copies', () => {
    expect(lines[0]).toBe('*');
    const copied = all
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from='))
      .flatMap((c) => c.args.split(' ').slice(0, -1));
    expect(new Set(allowed)).toEqual(new Set(copied));
  });

  it('excludes secrets, local state and build output even if the allowlist grows', () => {
    const denyAfterAllow = lines.slice(lines.lastIndexOf(`!${allowed.at(-1)}`) + 1);
    for (const p of [
      '.git',
      '.env',
      '.env.*',
      '**/.env',
      'secrets',
      '.npmrc',
      'node_modules',
      'dist',
      'data',
    ])
      expect(denyAfterAllow).toContain(p);
    for (const p of ['tests', 'bench', 'coverage']) expect(denyAfterAllow).toContain(p);
  });
});
