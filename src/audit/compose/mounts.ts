/** Volume entries in both syntaxes, resolved to what they mount from the host. */
import { posix } from 'node:path';
import { get, type LMap, type LNode, type Loc, str, truthy } from './nodes.js';

export interface Mount {
  /** Host path for bind mounts (also a named volume bound to a host device); undefined otherwise. */
  hostPath?: string;
  target?: string;
  readOnly: boolean;
  loc: Loc;
  /** A comment on or above the entry. */
  comment?: string;
  /** For a named volume bound to a host path: where that binding is declared. */
  via?: { volume: string; loc: Loc };
}

const isHostPath = (s: string) => s.startsWith('/') || s.startsWith('.') || s.startsWith('~');

export function mountsOf(service: LMap, volumes: LMap | undefined): Mount[] {
  const seq = get(service, 'volumes');
  if (seq?.kind !== 'seq') return [];
  return seq.items.map((it) => parseMount(it, volumes)).filter((m): m is Mount => m !== undefined);
}

function parseMount(it: LNode, volumes: LMap | undefined): Mount | undefined {
  let source: string | undefined;
  let target: string | undefined;
  let readOnly = false;
  let bind = false;
  if (it.kind === 'scalar' && it.value !== null) {
    const parts = String(it.value).split(':');
    if (parts.length === 1) return { target: parts[0], readOnly: false, loc: it.loc }; // anonymous volume
    [source, target] = parts;
    const opts = (parts[2] ?? '').split(',');
    readOnly = opts.includes('ro') || opts.includes('readonly');
    bind = isHostPath(source ?? '');
  } else if (it.kind === 'map') {
    source = str(get(it, 'source'));
    target = str(get(it, 'target'));
    readOnly = truthy(get(it, 'read_only'));
    const type = str(get(it, 'type')) ?? 'volume';
    bind = type === 'bind' || (type !== 'volume' && isHostPath(source ?? ''));
  } else return undefined;
  const comment = it.kind === 'scalar' ? it.comment : undefined;
  if (bind && source) return { hostPath: hostPathOf(source), target, readOnly, loc: it.loc, comment };
  // A named volume may itself be a bind mount: driver_opts {type: none, o: bind, device: /path}.
  const def = source ? get(volumes, source) : undefined;
  const device = get(def, 'driver_opts', 'device');
  const o = str(get(def, 'driver_opts', 'o')) ?? '';
  if (source && device?.kind === 'scalar' && /(^|,)r?bind(,|$)/.test(o)) {
    const dev = str(device) ?? '';
    if (isHostPath(dev))
      return {
        hostPath: hostPathOf(dev),
        target,
        readOnly: readOnly || /(^|,)ro(,|$)/.test(o),
        loc: it.loc,
        comment,
        via: { volume: source, loc: device.loc },
      };
  }
  return { target, readOnly, loc: it.loc, comment };
}

/** Relative sources stay relative (they live in the project directory): only absolute ones are judged. */
function hostPathOf(p: string): string {
  return p.startsWith('/') ? posix.normalize(p).replace(/(.)\/+$/, '$1') : p;
}
