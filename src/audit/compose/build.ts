/**
 * Where a `build:` service's Dockerfile is: its context directory and file name, or the inline
 * text (`dockerfile_inline`), with the target stage and build args. Pure: the caller reads the
 * file through its confined reader and hands back the facts (dockerfile.ts).
 */
import { isAbsolute, posix } from 'node:path';
import type { DockerfileFacts } from './dockerfile.js';
import { get, type LMap, str } from './nodes.js';
import type { Project, Service } from './project.js';

export type BuildSource =
  | { kind: 'file'; path: string; target?: string; args: Map<string, string> }
  | { kind: 'inline'; text: string; target?: string; args: Map<string, string> }
  | { kind: 'remote'; context: string };

/** What was learnt about a service's build: facts when its Dockerfile was read, else why not. */
export interface BuildInfo {
  source: string;
  facts: DockerfileFacts | null;
  error?: string;
}

/** A git URL, an http(s) tarball or `-` (stdin): nothing on this host to read. */
const REMOTE = /^([a-z][a-z0-9+.-]*:\/\/|git@|github\.com\/|-$)/i;

export function buildSource(s: Service, project: Project): BuildSource | undefined {
  const b = get(s.node, 'build');
  if (!b) return undefined;
  const m: LMap | undefined = b.kind === 'map' ? b : undefined;
  const context = (m ? str(get(m, 'context')) : str(b)) ?? '.';
  // Relative paths are the first compose file's directory's (Compose: "relative to the first
  // file"); a service brought in by extends.file from elsewhere keeps that file's directory.
  const declaredIn = b.loc.file;
  const base = project.files.includes(declaredIn)
    ? posix.dirname(project.files[0] as string)
    : posix.dirname(declaredIn);
  const target = m ? str(get(m, 'target')) : undefined;
  const args = new Map<string, string>();
  const a = m ? get(m, 'args') : undefined;
  if (a?.kind === 'map')
    for (const [k, e] of a.entries)
      if (e.value.kind === 'scalar' && e.value.value !== null) args.set(k, String(e.value.value));
  const inline = m ? str(get(m, 'dockerfile_inline')) : undefined;
  if (inline !== undefined) return { kind: 'inline', text: inline, target, args };
  if (REMOTE.test(context)) return { kind: 'remote', context };
  const dir = posix.resolve(base, context);
  const file = (m ? str(get(m, 'dockerfile')) : undefined) ?? 'Dockerfile';
  return {
    kind: 'file',
    path: isAbsolute(file) ? posix.resolve(file) : posix.resolve(dir, file),
    target,
    args,
  };
}
