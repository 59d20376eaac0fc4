import { posix } from 'node:path';
import { z } from 'zod';
import {
  auditProject,
  type BuildInfo,
  buildSource,
  ComposeError,
  dockerfileFacts,
  type ComposeFinding,
  parseDotenv,
  type Project,
  ProjectLoader,
  RULE_IDS,
} from '../audit/compose/index.js';
import { SEVERITIES, type Severity, worstFirst } from '../audit/findings.js';
import { scoreFindings } from '../audit/health/score.js';
import { ComposePathError, composeReader, type ComposeReader, projectDir } from '../host/composeFiles.js';
import { findingSchema } from './runHealthCheck.js';
import { deadlineSignal, defineTool, type ToolContext, ToolError } from './types.js';
import { boundedString, findingCountsSchema, orNull } from './schemas.js';

const MAX_NOTES = 50;

const composeFinding = findingSchema.extend({
  rule: z.enum(RULE_IDS).describe('The rule id (docs/rules.md); `id` adds ":<service>"'),
  service: z.string(),
  file: z.string().describe('Host path of the file holding the offending node'),
  line: z.number().describe('1-based line of the offending node (the service key when something is missing)'),
  column: z.number().describe('1-based column'),
});

const projectSchema = z.object({
  files: z.array(z.string()).describe('Compose files merged, in order (base first, then overrides)'),
  envFiles: z
    .array(z.string())
    .describe('Files variables were taken from (.env next to the first file, then env_file)'),
  error: orNull(z.string()).describe('Why this project could not be audited'),
  services: z.array(
    z.object({
      name: z.string(),
      file: z.string(),
      line: z.number(),
      column: z.number(),
      findings: z.array(composeFinding).describe('Worst first'),
    }),
  ),
  skippedServices: z
    .array(z.object({ name: z.string(), reason: z.string() }))
    .describe('Services not active for the given profiles'),
  notes: z
    .array(z.string())
    .describe('Unset variables, interpolation errors, ambiguous file names (never values)'),
});

type ProjectOut = z.infer<typeof projectSchema>;

export const auditComposeTool = defineTool({
  name: 'audit_compose',
  title: 'Audit Docker Compose files',
  description:
    'Is this Docker Compose deployment safe to ship? Reads compose files or project directories under ' +
    'AUDIT_ALLOWED_PATHS, merged and interpolated as Compose does, and reports with file:line: ' +
    'healthchecks, resource limits, log rotation, unpinned images, privileged mode, capabilities, ' +
    'docker.sock and host mounts, plaintext secrets (also on command lines), exposed databases, debuggers ' +
    'and brokers, root users (Dockerfiles of build: services read too), restart policies. Never runs anything.',
  details:
    'Is this compose deployment safe to ship? `paths` (compose files, merged in order like `-f a ' +
    '-f b`, or directories: compose.yaml/compose.yml/docker-compose.yml/docker-compose.yaml plus ' +
    'the override file, as Compose picks them) under `AUDIT_ALLOWED_PATHS`; honours `extends` ' +
    '(also across files), anchors and `<<` merge keys, `!reset`/`!override`, `profiles` (`["*"]` ' +
    "for all) and `${VAR}`/`${VAR:-default}`/`${VAR:?err}`/`$$` interpolation from the project's " +
    "`.env` and `env_file` only (never the server's environment). 27 rules " +
    '([docs/rules.md](docs/rules.md)), each finding with its file, line and column: missing or ' +
    "disabled healthchecks (an image's or Dockerfile's own `HEALTHCHECK` counts), depends_on " +
    'without service_healthy, no memory/CPU limits, no log rotation, unpinned images, privileged, ' +
    'dangerous cap_add, unconfined seccomp/AppArmor, host pid/network/ipc/userns, docker.sock ' +
    '(critical) and writable sensitive host mounts, plaintext secrets (the key only, never the ' +
    'value) and literal passwords on command, entrypoint and healthcheck lines (the flag only), ' +
    'databases, debuggers (critical) and message brokers/admin APIs published on all interfaces, ' +
    "root users (the `USER` of a `build:` service's Dockerfile, read confined like the compose " +
    'files, or of a well-known image from a checked table), no restart policy, wide network ' +
    'aliases, TZ. `findingCounts` by severity, `limit` (200). Never executes anything; 1 MiB per ' +
    'file, 50 files per call.',
  inputSchema: {
    paths: z
      .array(boundedString(1, 4096))
      .min(1)
      .max(20)
      .describe('Compose files (merged in order, like -f a -f b) or project directories'),
    profiles: z
      .array(boundedString(1, 100))
      .max(50)
      .optional()
      .describe('Active profiles; ["*"] audits every service'),
    env_file: boundedString(1, 4096)
      .optional()
      .describe('A .env file for interpolation, under AUDIT_ALLOWED_PATHS'),
    limit: z.number().int().min(1).max(1000).default(200).describe('Max findings, worst first'),
  },
  outputSchema: {
    projects: z.array(projectSchema),
    status: z
      .enum(['ok', 'warning', 'critical'])
      .describe('critical with any critical finding, warning with high or medium'),
    findingCounts: findingCountsSchema.describe('All findings by severity, before the limit'),
    ruleCounts: z.record(z.string(), z.number()).describe('All findings by rule id, before the limit'),
    truncated: z.boolean().describe('True when findings were cut to `limit`'),
    partial: z
      .boolean()
      .describe(
        'True when the deadline (TOOL_DEADLINE_SECONDS) stopped the audit early: only the projects listed were audited; the summary names the rest',
      ),
  },
  scope: 'audit:read',
  annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true, destructiveHint: false },
  async handler(args, ctx) {
    // Cancellation and the deadline: checked before every file read, between services and projects.
    const signal = deadlineSignal(ctx);
    const reader = composeReader(ctx.host.root, ctx.config.AUDIT_ALLOWED_PATHS, signal);
    let extraEnv: Awaited<ReturnType<typeof readEnvFile>> | undefined;
    let groups: Group[];
    try {
      extraEnv = args.env_file ? await readEnvFile(reader, args.env_file) : undefined;
      groups = await projectGroups(reader, args.paths);
    } catch (err) {
      if (signal.aborted) throw nothingDone(ctx);
      throw err;
    }
    const projects: ProjectOut[] = [];
    const all: Array<{ p: number; f: ComposeFinding }> = [];
    let notAudited: Group[] = [];
    for (const [i, g] of groups.entries()) {
      let done: Awaited<ReturnType<typeof auditGroup>> | undefined;
      try {
        signal.throwIfAborted();
        done = await auditGroup(reader, g, extraEnv, args.profiles ?? [], signal);
      } catch (err) {
        if (!signal.aborted) throw err;
      }
      if (!done) {
        if (ctx.signal.aborted || projects.length === 0) throw nothingDone(ctx);
        notAudited = groups.slice(i);
        break;
      }
      for (const f of done.findings) all.push({ p: projects.length, f });
      projects.push(done.out);
    }
    const partial = notAudited.length > 0;
    if (projects.every((p) => p.error !== null))
      throw new ToolError(
        [
          ...projects.map((p) => p.error),
          ...(partial ? [`then ${deadlineReached(ctx)}: ${notAuditedText(notAudited)} not audited`] : []),
        ].join('\n'),
      );

    const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
    const ruleCounts: Record<string, number> = {};
    for (const { f } of all) {
      counts[f.severity]++;
      ruleCounts[f.rule] = (ruleCounts[f.rule] ?? 0) + 1;
    }
    all.sort((a, b) => worstFirst(a.f, b.f));
    const kept = all.slice(0, args.limit);
    for (const { p, f } of kept) projects[p]?.services.find((s) => s.name === f.service)?.findings.push(f);
    const status = scoreFindings(all.map((x) => x.f)).status;
    return {
      structured: {
        projects,
        status,
        findingCounts: counts,
        ruleCounts,
        truncated: kept.length < all.length,
        partial,
      },
      summary: summarize(
        projects,
        status,
        counts,
        kept.map((k) => k.f),
        all.length - kept.length,
        partial
          ? `PARTIAL: ${deadlineReached(ctx)}; ${notAuditedText(notAudited)} not audited: audit fewer paths at a time.`
          : null,
      ),
    };
  },
});

interface Group {
  files: string[];
  notes: string[];
}

function deadlineReached(ctx: ToolContext): string {
  return `the ${ctx.config.TOOL_DEADLINE_SECONDS} s deadline (TOOL_DEADLINE_SECONDS) was reached`;
}

/** Stopped before any project was audited: the caller's cancellation, or the deadline. */
function nothingDone(ctx: ToolContext): ToolError {
  if (ctx.signal.aborted) return new ToolError('Cancelled by the client');
  return new ToolError(
    `Nothing audited: ${deadlineReached(ctx)} before the first project was done; audit fewer paths at a time`,
  );
}

function notAuditedText(groups: Group[]): string {
  return groups.map((g) => g.files.join(' + ')).join(', ');
}

/** Given files form one project in order; each directory is a project of its own. */
async function projectGroups(reader: ComposeReader, paths: string[]): Promise<Group[]> {
  const groups: Group[] = [];
  let filesGroup: Group | undefined;
  for (const p of paths) {
    if (!p.startsWith('/'))
      throw new ToolError(`${p} is not an absolute path (paths are host paths, e.g. /srv/app)`);
    const hostPath = posix.resolve('/', p);
    try {
      if ((await reader.kind(hostPath)) === 'file') {
        if (!filesGroup) groups.push((filesGroup = { files: [], notes: [] }));
        if (!filesGroup.files.includes(hostPath)) filesGroup.files.push(hostPath);
      } else groups.push(await reader.discover(hostPath));
    } catch (err) {
      if (err instanceof ComposePathError) throw new ToolError(err.message);
      throw err;
    }
  }
  return groups;
}

async function readEnvFile(
  reader: ComposeReader,
  path: string,
): Promise<{ path: string; vars: Map<string, string>; notes: string[] }> {
  try {
    const f = await reader.read(path);
    const parsed = parseDotenv(f.text, f.path);
    return { path: f.path, ...parsed };
  } catch (err) {
    if (err instanceof ComposePathError) throw new ToolError(`env_file: ${err.message}`);
    throw err;
  }
}

async function auditGroup(
  reader: ComposeReader,
  g: Group,
  extra: { path: string; vars: Map<string, string>; notes: string[] } | undefined,
  profiles: string[],
  signal: AbortSignal,
): Promise<{ out: ProjectOut; findings: ComposeFinding[] }> {
  const out: ProjectOut = {
    files: g.files,
    envFiles: [],
    error: null,
    services: [],
    skippedServices: [],
    notes: [...g.notes],
  };
  try {
    // Compose reads .env from the project directory; the server's own environment is never used.
    const dotenv = await reader.readOptional(posix.join(projectDir(g.files[0] as string), '.env'));
    const env = new Map<string, string>();
    if (dotenv) {
      const parsed = parseDotenv(dotenv.text, dotenv.path);
      for (const [k, v] of parsed.vars) env.set(k, v);
      out.envFiles.push(dotenv.path);
      out.notes.push(...parsed.notes);
    }
    if (extra) {
      for (const [k, v] of extra.vars) env.set(k, v);
      out.envFiles.push(extra.path);
      out.notes.push(...extra.notes);
    }
    const loader = new ProjectLoader(env, (p) => reader.read(p), signal);
    const project = await loader.project(g.files, profiles);
    // Loaded in full: the rules are synchronous and take milliseconds, so a project loaded by the
    // deadline is still reported.
    out.notes.push(...project.notes);
    out.skippedServices = project.skipped;
    out.services = project.services.map((s) => ({
      name: s.name,
      file: s.loc.file,
      line: s.loc.line,
      column: s.loc.column,
      findings: [],
    }));
    const builds = await readBuilds(reader, project, out.notes, signal);
    return { out, findings: auditProject(project, { builds }) };
  } catch (err) {
    if (err instanceof ComposeError || err instanceof ComposePathError) {
      out.error = err.message;
      return { out, findings: [] };
    }
    throw err;
  } finally {
    if (out.notes.length > MAX_NOTES)
      out.notes.splice(MAX_NOTES, out.notes.length, `... ${out.notes.length - MAX_NOTES} more notes`);
  }
}

const DEADLINE_NOTE =
  'the deadline was reached before every Dockerfile was read; those services are judged without them';

/**
 * The Dockerfile of each `build:` service, read through the same confined reader as the compose
 * files (allowed paths, one verified handle, size cap), so USER and HEALTHCHECK set there count.
 * One that cannot be read is a note; its service is judged as before (unknown image user).
 */
async function readBuilds(
  reader: ComposeReader,
  project: Project,
  notes: string[],
  signal: AbortSignal,
): Promise<Map<string, BuildInfo>> {
  const builds = new Map<string, BuildInfo>();
  const texts = new Map<string, Promise<{ path: string; text: string }>>();
  for (const s of project.services) {
    // A project loaded by the deadline is still reported (see auditGroup): past it, the
    // Dockerfiles not yet read are left unknown, with a note.
    if (signal.aborted) {
      notes.push(DEADLINE_NOTE);
      break;
    }
    const src = buildSource(s, project);
    if (!src) continue;
    if (src.kind === 'remote') {
      builds.set(s.name, { source: src.context, facts: null, error: 'remote build context' });
      continue;
    }
    if (src.kind === 'inline') {
      builds.set(s.name, {
        source: 'dockerfile_inline',
        facts: dockerfileFacts(src.text, src.target, src.args),
      });
      continue;
    }
    let read = texts.get(src.path);
    if (!read) texts.set(src.path, (read = reader.read(src.path)));
    try {
      const f = await read;
      const facts = dockerfileFacts(f.text, src.target, src.args);
      builds.set(s.name, { source: f.path, facts, ...(facts ? {} : { error: 'no FROM instruction' }) });
    } catch (err) {
      if (signal.aborted) {
        notes.push(DEADLINE_NOTE);
        break;
      }
      if (!(err instanceof ComposePathError)) throw err;
      builds.set(s.name, { source: src.path, facts: null, error: err.message });
      notes.push(`service ${s.name}: Dockerfile not read: ${err.message}`);
    }
  }
  return builds;
}

function summarize(
  projects: ProjectOut[],
  status: string,
  counts: Record<Severity, number>,
  worst: ComposeFinding[],
  cut: number,
  partial: string | null,
): string {
  const services = projects.reduce((n, p) => n + p.services.length, 0);
  const lines = [
    `Compose: ${status.toUpperCase()}: ${projects.length} project(s), ${services} service(s); ` +
      SEVERITIES.map((s) => `${counts[s]} ${s}`).join(', ') +
      '.',
  ];
  for (const p of projects) if (p.error) lines.push(`- ERROR ${p.files.join(' + ')}: ${p.error}`);
  for (const f of worst.slice(0, 8))
    lines.push(`- [${f.severity}] ${f.title} at ${f.file}:${f.line}:${f.column} (${f.rule})`);
  if (cut > 0) lines.push(`${cut} more finding(s) not listed: raise limit or audit fewer paths.`);
  if (partial) lines.push(partial);
  return lines.join('\n');
}
