/**
 * audit_compose over labelled fixtures: the KICS compose queries' positive and negative cases
 * (tests/fixtures/compose/kics, Apache-2.0, Checkmarx/kics) and our own cases
 * (tests/fixtures/compose/own/LABELS.json). Every label must hold; the per-rule precision and
 * recall over all of them is printed as a markdown table.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  auditProject,
  type ComposeFinding,
  parseDotenv,
  ProjectLoader,
  RULE_IDS,
} from '../../src/audit/compose/index.js';

const BASE = join(import.meta.dirname, '..', 'fixtures', 'compose');
const KICS = join(BASE, 'kics');
const OWN = join(BASE, 'own');

/** KICS query -> our rule; healthcheck_not_set splits into "missing" and "disabled" by file. */
const KICS_RULES: Record<string, (file: string) => string[]> = {
  container_capabilities_unrestricted: () => ['compose.cap_add.dangerous'],
  docker_socket_mounted_in_container: () => ['compose.volume.docker_socket'],
  healthcheck_not_set: (f) =>
    f.startsWith('negative')
      ? ['compose.healthcheck.missing', 'compose.healthcheck.disabled']
      : f === 'positive1.yaml'
        ? ['compose.healthcheck.missing']
        : ['compose.healthcheck.disabled'],
  memory_not_limited: () => ['compose.resources.memory_unlimited'],
  privileged_containers_enabled: () => ['compose.privileged'],
  shared_host_network_namespace: () => ['compose.namespace.network_host'],
  volume_has_sensitive_host_directory: () => ['compose.volume.sensitive_host_path'],
};

interface Case {
  name: string;
  files: string[];
  profiles: string[];
  /** [rule, service or "*", "relative/file:line" or null] */
  expect: Array<[string, string, string | null]>;
  absent: Array<[string, string]>;
}

function kicsCases(): Case[] {
  const out: Case[] = [];
  for (const query of readdirSync(KICS, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    const map = KICS_RULES[query.name];
    if (!map) throw new Error(`no rule mapped for KICS query ${query.name}`);
    for (const f of readdirSync(join(KICS, query.name)).filter((x) => x.endsWith('.yaml'))) {
      const rules = map(f);
      const positive = f.startsWith('positive');
      out.push({
        name: `kics/${query.name}/${f}`,
        files: [join(KICS, query.name, f)],
        profiles: ['*'],
        expect: positive ? rules.map((r) => [r, '*', null]) : [],
        absent: positive ? [] : rules.map((r) => [r, '*']),
      });
    }
  }
  return out;
}

function ownCases(): Case[] {
  const labels = JSON.parse(readFileSync(join(OWN, 'LABELS.json'), 'utf8')) as {
    cases: Array<Omit<Case, 'name' | 'profiles'> & { profiles?: string[] }>;
  };
  return labels.cases.map((c) => ({
    ...c,
    name: `own/${c.files.join('+')}${c.profiles ? ` profiles=${JSON.stringify(c.profiles)}` : ''}`,
    files: c.files.map((f) => join(OWN, f)),
    profiles: c.profiles ?? ['*'],
  }));
}

async function auditFiles(files: string[], profiles: string[] = ['*']): Promise<ComposeFinding[]> {
  const envPath = join(dirname(files[0] as string), '.env');
  const env = existsSync(envPath)
    ? parseDotenv(readFileSync(envPath, 'utf8'), envPath).vars
    : new Map<string, string>();
  const loader = new ProjectLoader(env, async (p) => ({ path: p, text: await readFile(p, 'utf8') }));
  return auditProject(await loader.project(files, profiles));
}

const tally = new Map<string, { tp: number; fp: number; fn: number }>();
const count = (rule: string, k: 'tp' | 'fp' | 'fn') => {
  const t = tally.get(rule) ?? { tp: 0, fp: 0, fn: 0 };
  t[k]++;
  tally.set(rule, t);
};
const matches = (pattern: string, value: string) => pattern === '*' || pattern === value;

/** Scores one case; returns the label violations (empty when every label holds). */
function score(c: Case, findings: ComposeFinding[]): string[] {
  const problems: string[] = [];
  const unused = [...findings];
  for (const [rule, service, at] of c.expect) {
    const i = unused.findIndex(
      (f) =>
        f.rule === rule &&
        matches(service, f.service) &&
        (at === null || `${relative(OWN, f.file)}:${f.line}` === at),
    );
    if (i >= 0) {
      count(rule, 'tp');
      unused.splice(i, 1);
    } else {
      count(rule, 'fn');
      problems.push(`missed ${rule} on ${service}${at ? ` at ${at}` : ''}`);
    }
  }
  const labelled = (f: ComposeFinding) =>
    c.absent.some(([r, s]) => matches(r, f.rule) && matches(s, f.service)) ||
    c.expect.some(([r, s]) => r === f.rule && matches(s, f.service));
  for (const f of unused.filter(labelled)) {
    count(f.rule, 'fp');
    problems.push(`unexpected ${f.rule} on ${f.service} at ${relative(BASE, f.file)}:${f.line}:${f.column}`);
  }
  return problems;
}

const cases = [...kicsCases(), ...ownCases()];

describe('labelled compose fixtures', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const findings = await auditFiles(c.files, c.profiles);
    expect(score(c, findings)).toEqual([]);
  });

  it('covers every rule with at least one positive label', () => {
    const positives = new Set(cases.flatMap((c) => c.expect.map((e) => e[0])));
    expect(RULE_IDS.filter((r) => !positives.has(r))).toEqual([]);
  });

  afterAll(() => {
    const rows = [...tally.entries()].sort(([a], [b]) => a.localeCompare(b));
    const pct = (n: number, d: number) => (d === 0 ? 'n/a' : `${((100 * n) / d).toFixed(0)}%`);
    const table = [
      '| rule | TP | FP | FN | precision | recall |',
      '| --- | --- | --- | --- | --- | --- |',
      ...rows.map(
        ([r, t]) =>
          `| \`${r}\` | ${t.tp} | ${t.fp} | ${t.fn} | ${pct(t.tp, t.tp + t.fp)} | ${pct(t.tp, t.tp + t.fn)} |`,
      ),
    ].join('\n');
    console.log(`audit_compose precision/recall over ${cases.length} labelled cases:\n${table}`);
  });
});
