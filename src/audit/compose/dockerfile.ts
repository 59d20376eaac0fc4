/**
 * What a Dockerfile leaves the built image with, for audit_compose: the user it runs as and
 * whether it defines a HEALTHCHECK. Read the way BuildKit does: parser directives (`# escape=`),
 * continuation lines, comments, heredoc bodies skipped, ARGs before the first FROM substituted in
 * FROM, stages by name or index (a stage built FROM an earlier one inherits its USER and
 * HEALTHCHECK), and the stage built is `build.target` or else the last one. Nothing is executed.
 */

export interface DockerfileFacts {
  /** The stage the image is built from (its name, or its index when unnamed). */
  stage: string;
  /**
   * The last USER in effect: null when no stage in its chain sets one (the base image decides).
   * Variables that cannot be resolved are kept as written (`$APP_UID`).
   */
  user: string | null;
  userLine: number | null;
  /** 'set' by HEALTHCHECK CMD, 'none' by HEALTHCHECK NONE, null when no stage in its chain says. */
  healthcheck: 'set' | 'none' | null;
  healthcheckLine: number | null;
  /** The external image the built stage starts from (after ARG substitution); null for `scratch`. */
  baseImage: string | null;
}

interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** Instructions with their first line; continuation lines joined, comments and heredoc bodies dropped. */
export function instructions(text: string): Instruction[] {
  const lines = text.split(/\r?\n/);
  let escape = '\\';
  // Parser directives: only at the very top, before any other line (comment or instruction).
  for (const l of lines) {
    const d = /^#\s*([a-z]+)\s*=\s*(\S+)\s*$/i.exec(l);
    if (!d) break;
    if (d[1]?.toLowerCase() === 'escape' && (d[2] === '`' || d[2] === '\\')) escape = d[2];
  }
  const out: Instruction[] = [];
  let current: string | null = null;
  let start = 0;
  const heredocs: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    if (heredocs.length > 0) {
      // Heredoc body (RUN <<EOF ... EOF): not instructions; ends at its delimiter line.
      const end = heredocs[0] as string;
      if (raw.replace(/^\t+/, '') === end) heredocs.shift();
      continue;
    }
    if (current === null) {
      if (/^\s*(#|$)/.test(raw)) continue;
      current = '';
      start = i + 1;
    } else if (/^\s*#/.test(raw)) continue; // a comment inside a continuation is dropped
    const trimmed = raw.replace(/\s+$/, '');
    if (trimmed.endsWith(escape)) {
      current += `${trimmed.slice(0, -1)} `;
      continue;
    }
    current += trimmed;
    const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(current);
    if (m) {
      const op = (m[1] as string).toUpperCase();
      const args = (m[2] as string).trim();
      out.push({ op, args, line: start });
      for (const h of args.matchAll(/<<-?\s*["']?([A-Za-z_][A-Za-z0-9_]*)["']?/g))
        heredocs.push(h[1] as string);
    }
    current = null;
  }
  return out;
}

/** `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alt}`; unknown names stay as written. */
export function substitute(text: string, vars: Map<string, string>): string {
  return text.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (
      whole,
      braced: string | undefined,
      op: string | undefined,
      word: string | undefined,
      bare: string | undefined,
    ) => {
      const name = (braced ?? bare) as string;
      const v = vars.get(name);
      if (op?.endsWith('-')) return v !== undefined && (v !== '' || op === '-') ? v : (word ?? '');
      if (op?.endsWith('+')) return v !== undefined && (v !== '' || op === '+') ? (word ?? '') : '';
      return v ?? whole;
    },
  );
}

interface Stage {
  name: string | null;
  from: string;
  user: string | null;
  userLine: number | null;
  healthcheck: 'set' | 'none' | null;
  healthcheckLine: number | null;
  parent: Stage | null;
}

/** The first word of ARG/ENV: `NAME=value`, `NAME value` (ENV legacy) or `NAME`. */
function assignments(args: string, legacy: boolean): Array<[string, string | undefined]> {
  const out: Array<[string, string | undefined]> = [];
  if (legacy && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(args)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s+(.*)$/.exec(args);
    if (m) return [[m[1] as string, unquote(m[2] as string)]];
  }
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)(?:=("(?:[^"\\]|\\.)*"|'[^']*'|\S*))?/g))
    out.push([m[1] as string, m[2] === undefined ? undefined : unquote(m[2])]);
  return out;
}

function unquote(s: string): string {
  const t = s.trim();
  if ((t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'"))) return t.slice(1, -1);
  return t;
}

/**
 * The facts of the stage `target` builds (default: the last). `buildArgs` are compose's
 * `build.args` (they override ARG defaults). Returns null when the text has no FROM.
 */
export function dockerfileFacts(
  text: string,
  target?: string,
  buildArgs: Map<string, string> = new Map(),
): DockerfileFacts | null {
  const global = new Map<string, string>();
  const stages: Stage[] = [];
  let cur: Stage | null = null;
  let vars = new Map<string, string>();
  for (const ins of instructions(text)) {
    if (ins.op === 'FROM') {
      const m = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(ins.args);
      const from = substitute(m?.[1] ?? '', global);
      const parent =
        stages.find((s) => s.name !== null && s.name.toLowerCase() === from.toLowerCase()) ??
        (/^\d+$/.test(from) ? (stages[Number(from)] ?? null) : null);
      cur = {
        name: m?.[2] ?? null,
        from,
        user: parent?.user ?? null,
        userLine: parent?.userLine ?? null,
        healthcheck: parent?.healthcheck ?? null,
        healthcheckLine: parent?.healthcheckLine ?? null,
        parent,
      };
      stages.push(cur);
      // Inside a stage only ARGs it declares (again) are visible, plus the parent's ENV.
      vars = new Map();
      continue;
    }
    if (ins.op === 'ARG') {
      for (const [k, def] of assignments(ins.args, false)) {
        const v =
          buildArgs.get(k) ?? (cur ? (def !== undefined ? substitute(def, vars) : global.get(k)) : def);
        if (!cur) {
          if (v !== undefined) global.set(k, v);
        } else if (v !== undefined) vars.set(k, v);
      }
      continue;
    }
    if (!cur) continue;
    if (ins.op === 'ENV') {
      for (const [k, v] of assignments(ins.args, true)) if (v !== undefined) vars.set(k, substitute(v, vars));
    } else if (ins.op === 'USER') {
      cur.user = substitute(unquote(ins.args), vars);
      cur.userLine = ins.line;
    } else if (ins.op === 'HEALTHCHECK') {
      cur.healthcheck = /^NONE\b/i.test(ins.args) ? 'none' : 'set';
      cur.healthcheckLine = ins.line;
    }
  }
  if (stages.length === 0) return null;
  const chosen =
    (target !== undefined ? stages.find((s) => s.name?.toLowerCase() === target.toLowerCase()) : undefined) ??
    (stages[stages.length - 1] as Stage);
  let root: Stage = chosen;
  while (root.parent) root = root.parent;
  return {
    stage: chosen.name ?? String(stages.indexOf(chosen)),
    user: chosen.user,
    userLine: chosen.userLine,
    healthcheck: chosen.healthcheck,
    healthcheckLine: chosen.healthcheckLine,
    baseImage: root.from.toLowerCase() === 'scratch' ? null : root.from,
  };
}

/** `root`, `0`, `root:…`, `0:…`: the user that is uid 0. */
export function isRootUser(user: string): boolean {
  return /^(root|0)(:.*)?$/.test(user.trim());
}
