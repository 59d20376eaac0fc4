/**
 * Building blocks for the property-based fuzz tests (tests/integration/fuzz.test.ts): arbitraries
 * built from a tool's JSON Schema, junk values, the OUTBOUND_DENY list that leaves only loopback
 * reachable, a guard that records (and stops) any socket aimed beyond loopback, and a small
 * loopback HTTP(S) server that answers with redirects, errors, big bodies or nothing at all.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import net, { type AddressInfo } from 'node:net';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';

// ---------------------------------------------------------------------------------------------
// Loopback only
// ---------------------------------------------------------------------------------------------

/**
 * The CIDRs that together cover every address of the family except `keep`: for each bit of
 * keep's prefix, the block that agrees with it up to that bit and differs in it. 127.0.0.0/8
 * gives 8 blocks (128.0.0.0/1, 0.0.0.0/2, 64.0.0.0/3 ... 126.0.0.0/8), ::1/128 gives 128.
 */
export function complementCidrs(keep: string): string[] {
  const [addr, bits] = ipaddr.parseCIDR(keep);
  const bytes = addr.toByteArray();
  const out: string[] = [];
  for (let i = 0; i < bits; i++) {
    const b = [...bytes];
    for (let j = i + 1; j < b.length * 8; j++) b[j >> 3] = (b[j >> 3] as number) & ~(0x80 >> (j & 7));
    b[i >> 3] = (b[i >> 3] as number) ^ (0x80 >> (i & 7));
    out.push(`${ipaddr.fromByteArray(b).toString()}/${i + 1}`);
  }
  return out;
}

/** OUTBOUND_DENY for tests: all of IPv4 but 127.0.0.0/8 and all of IPv6 but ::1. */
export const LOOPBACK_ONLY_DENY = [...complementCidrs('127.0.0.0/8'), ...complementCidrs('::1/128')];

/** Whether a connect/send destination is loopback: 127.0.0.0/8, ::1 (also IPv4-mapped), or "localhost". */
export function isLoopbackDestination(host: string): boolean {
  if (host === 'localhost') return true;
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (!ipaddr.isValid(bare) || net.isIP(bare) === 0) return false;
  return ipaddr.process(bare).range() === 'loopback';
}

export interface NetworkGuard {
  /** Every destination a socket was pointed at (tcp host:port, udp host:port, unix paths). */
  contacted: Set<string>;
  /** Destinations beyond loopback: each was stopped before anything was sent. */
  violations: string[];
  restore(): void;
}

type ConnectArgs = unknown[];

function tcpDestination(args: ConnectArgs): { host: string; port: unknown } | { path: string } | undefined {
  // net.connect() passes its normalised arguments as one array; user code passes them spread.
  const a = Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
  const first = a[0];
  if (typeof first === 'string' && Number.isNaN(Number(first))) return { path: first };
  if (typeof first === 'number' || typeof first === 'string')
    return { host: typeof a[1] === 'string' ? a[1] : 'localhost', port: first };
  if (first && typeof first === 'object') {
    const o = first as { host?: unknown; port?: unknown; path?: unknown };
    if (typeof o.path === 'string' && o.path !== '') return { path: o.path };
    return { host: typeof o.host === 'string' ? o.host : 'localhost', port: o.port };
  }
  return undefined;
}

/**
 * Watches every TCP connect and UDP send made in this process (the server under test runs
 * in-process): destinations beyond loopback are recorded and refused with an error before a
 * packet leaves. A safety net and a witness, not a stand-in: loopback traffic passes unchanged.
 * (c-ares DNS queries do not go through these sockets; the SSRF policy's refusal of resolver
 * addresses is tested on the policy itself.)
 */
export function installNetworkGuard(): NetworkGuard {
  const contacted = new Set<string>();
  const violations: string[] = [];
  const socketProto = net.Socket.prototype as unknown as { connect: (...args: unknown[]) => unknown };
  const dgramProto = dgram.Socket.prototype as unknown as {
    send: (...args: unknown[]) => unknown;
    connect: (...args: unknown[]) => unknown;
  };
  const origConnect = socketProto.connect;
  const origSend = dgramProto.send;
  const origUdpConnect = dgramProto.connect;

  socketProto.connect = function (this: net.Socket, ...args: unknown[]) {
    const d = tcpDestination(args);
    if (d && 'host' in d) {
      const text = `tcp ${d.host}:${String(d.port)}`;
      contacted.add(text);
      if (!isLoopbackDestination(d.host)) {
        violations.push(text);
        const err = Object.assign(new Error(`network guard: ${text} is not loopback`), { code: 'EGUARD' });
        process.nextTick(() => this.destroy(err));
        return this;
      }
    } else if (d) contacted.add(`unix ${d.path}`);
    return origConnect.apply(this, args);
  };

  const udpCheck = (port: unknown, address: unknown, type: string): string | undefined => {
    const host = typeof address === 'string' ? address : type === 'udp6' ? '::1' : '127.0.0.1';
    const text = `udp ${host}:${String(port)}`;
    contacted.add(text);
    if (isLoopbackDestination(host)) return undefined;
    violations.push(text);
    return text;
  };
  const socketType = (s: dgram.Socket) => (s as unknown as { type?: string }).type ?? 'udp4';

  dgramProto.send = function (this: dgram.Socket, ...args: unknown[]) {
    // send(msg, offset, length, port, address, cb) or send(msg, port, address, cb) or send(msg, cb) when connected.
    const long = typeof args[1] === 'number' && typeof args[2] === 'number' && typeof args[3] === 'number';
    const port = long ? args[3] : args[1];
    const address = long ? args[4] : args[2];
    if (typeof port === 'number') {
      const bad = udpCheck(port, address, socketType(this));
      if (bad) {
        const cb = args.find((a) => typeof a === 'function') as ((e: Error) => void) | undefined;
        const err = Object.assign(new Error(`network guard: ${bad} is not loopback`), { code: 'EGUARD' });
        process.nextTick(() => (cb ? cb(err) : this.emit('error', err)));
        return undefined;
      }
    }
    return origSend.apply(this, args);
  };
  dgramProto.connect = function (this: dgram.Socket, ...args: unknown[]) {
    const bad = udpCheck(args[0], typeof args[1] === 'string' ? args[1] : undefined, socketType(this));
    if (bad) {
      const err = Object.assign(new Error(`network guard: ${bad} is not loopback`), { code: 'EGUARD' });
      process.nextTick(() => this.emit('error', err));
      return undefined;
    }
    return origUdpConnect.apply(this, args);
  };

  return {
    contacted,
    violations,
    restore() {
      socketProto.connect = origConnect;
      dgramProto.send = origSend;
      dgramProto.connect = origUdpConnect;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// A misbehaving web server on loopback
// ---------------------------------------------------------------------------------------------

export interface HostileWeb {
  httpPort: number;
  httpsPort: number;
  /** Requests seen, as "METHOD path". */
  requests: string[];
  close(): Promise<void>;
}

/**
 * Paths: /redirect?to=URL (302 to anything, also metadata and file: URLs), /loop (redirects to
 * itself), /slow (never answers), /big (6 MiB), /500, /bad-location (a Location no URL parser
 * takes), anything else 200 with no security headers.
 */
export async function startHostileWeb(tls: { key: string; cert: string }): Promise<HostileWeb> {
  const requests: string[] = [];
  const pending = new Set<ServerResponse>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    requests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    switch (url.pathname) {
      case '/redirect':
        res.writeHead(302, { location: url.searchParams.get('to') ?? '/' }).end();
        return;
      case '/loop':
        res.writeHead(301, { location: '/loop' }).end();
        return;
      case '/bad-location':
        res.writeHead(302, { location: 'http://[::1' }).end();
        return;
      case '/slow':
        pending.add(res);
        res.once('close', () => pending.delete(res));
        return;
      case '/big':
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(Buffer.alloc(6 * 1024 * 1024, 0x61));
        return;
      case '/500':
        res.writeHead(500).end('boom');
        return;
      default:
        res.writeHead(200, { 'content-type': 'text/html' }).end('<p>hello</p>');
    }
  };
  const http = createHttpServer(handler);
  const https = createHttpsServer({ key: tls.key, cert: tls.cert }, handler);
  http.listen(0, '127.0.0.1');
  https.listen(0, '127.0.0.1');
  await Promise.all([once(http, 'listening'), once(https, 'listening')]);
  return {
    httpPort: (http.address() as AddressInfo).port,
    httpsPort: (https.address() as AddressInfo).port,
    requests,
    async close() {
      for (const res of pending) res.destroy();
      http.closeAllConnections();
      https.closeAllConnections();
      await Promise.all([new Promise((r) => http.close(r)), new Promise((r) => https.close(r))]);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Junk
// ---------------------------------------------------------------------------------------------

/** Strings that have broken parsers, paths and shells before. */
export const NASTY_STRINGS = [
  '',
  ' ',
  '\t\n',
  'NaN',
  '-NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  '-0',
  '0x10',
  '1_000',
  'null',
  'undefined',
  'true',
  '[object Object]',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '../../etc/shadow',
  '/var/log/../../etc/shadow',
  '..',
  '/',
  '//',
  '/dev/zero',
  '/proc/self/environ',
  '/var/log/\u0000',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '..%c0%af..%c0%afetc',
  '${jndi:ldap://127.0.0.1:1/a}',
  '$(id)',
  '`id`',
  '; rm -rf /',
  "' OR 1=1 --",
  '<script>alert(1)</script>',
  '{{7*7}}',
  '%s%s%s%n',
  '\u202e\u0000\u200b\ufeff',
  '\ud800',
  '\udfff\ud800',
  'Ω≈ç√∫˜µ≤≥÷',
  '𝕿𝖍𝖊 🤖 👩‍👩‍👧‍👦',
  'ǅ ﬀ İ ß',
  'x'.repeat(4097),
  'a.'.repeat(200),
];

const nastyString = fc.constantFrom(...NASTY_STRINGS);

/** Any string: nasty, random unicode (lone surrogates included), or long. */
export const junkString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: nastyString },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 5_000, max: 300_000 }).map((n) => 'A'.repeat(n)) },
);

export const junkNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    -1,
    -0,
    0.5,
    1e-9,
    -1e308,
    1e308,
    2 ** 31,
    2 ** 53 + 2,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    // JSON has no NaN/Infinity: they travel as null.
    Number.NaN,
    Number.POSITIVE_INFINITY,
  ),
  fc.double(),
  fc.integer({ min: -(2 ** 31), max: -1 }),
);

/** Keys that mean something to JavaScript objects, plus random ones. */
export const junkKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'valueOf',
    '',
    ' ',
    '$ref',
    'a.b',
    '0',
  ),
  fc.string({ maxLength: 12 }),
);

/** An object with `key` as an own, enumerable property even when it is "__proto__". */
export function setOwn(
  target: Record<string, unknown>,
  key: string,
  value: unknown,
): Record<string, unknown> {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

/** Arrays or objects nested `depth` deep, around a leaf. */
export function nested(depth: number, kind: 'array' | 'object', leaf: unknown = 1): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = kind === 'array' ? [v] : { a: v };
  return v;
}

/** Any JSON-able junk: wrong types, nesting, huge strings, odd keys. */
export const junkValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    junkString,
    junkNumber,
    fc.boolean(),
    fc.constant(null),
    fc
      .integer({ min: 50, max: 1500 })
      .chain((d) => fc.constantFrom(nested(d, 'array'), nested(d, 'object', 'x'))),
    fc.array(tie('value'), { maxLength: 4 }),
    fc
      .array(fc.tuple(junkKey, tie('value')), { maxLength: 4 })
      .map((entries) => entries.reduce<Record<string, unknown>>((o, [k, v]) => setOwn(o, k, v), {})),
  ),
})).value;

/** An object of junk: odd keys ("__proto__" as an own key too), junk values. */
export const junkObject: fc.Arbitrary<Record<string, unknown>> = fc
  .array(fc.tuple(junkKey, junkValue), { maxLength: 5 })
  .map((entries) => entries.reduce<Record<string, unknown>>((o, [k, v]) => setOwn(o, k, v), {}));

// ---------------------------------------------------------------------------------------------
// JSON Schema -> arbitrary
// ---------------------------------------------------------------------------------------------

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  default?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

export interface SchemaArbitraryOptions {
  /**
   * Domain values for a property (by name; for an array, its items), mixed with what the schema
   * alone would generate: hosts, URLs, paths, baseline ids. Hints may break the schema on purpose.
   */
  hints?: Record<string, fc.Arbitrary<unknown>>;
  /** Narrower numeric ranges for a property, to keep expensive knobs cheap (a 5 s CPU sample). */
  ranges?: Record<string, { min?: number; max?: number }>;
  /** Cap on generated array lengths (the schema's own maxItems still applies). */
  maxArrayItems?: number;
  /** Cap on generated string lengths for free-form strings. */
  maxStringLength?: number;
}

const ISO_OFFSETS = ['Z', '+00:00', '+05:30', '-08:00', '+14:00', '-12:00'];

function dateTime(): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.date({
        min: new Date('1970-01-01T00:00:00Z'),
        max: new Date('2100-01-01T00:00:00Z'),
        noInvalidDate: true,
      }),
      fc.constantFrom(...ISO_OFFSETS),
      fc.boolean(),
    )
    .map(([d, offset, millis]) => {
      const iso = d.toISOString();
      const base = millis ? iso.slice(0, 23) : iso.slice(0, 19);
      return `${base}${offset}`;
    });
}

function stringArb(s: JsonSchema, o: SchemaArbitraryOptions): fc.Arbitrary<string> {
  const min = s.minLength ?? 0;
  const max = Math.max(min, Math.min(s.maxLength ?? 64, o.maxStringLength ?? 64));
  const fits = (v: string) => v.length >= min && (s.maxLength === undefined || v.length <= s.maxLength);
  if (s.format === 'date-time') return dateTime();
  if (s.format === 'uri') return fc.webUrl({ withQueryParameters: true, withFragments: true });
  if (s.pattern) return fc.stringMatching(new RegExp(s.pattern)).filter(fits);
  return fc.oneof(
    fc.string({ minLength: min, maxLength: max }),
    fc.string({ unit: 'grapheme', minLength: min, maxLength: max }),
  );
}

function numberArb(s: JsonSchema, integer: boolean, range: { min?: number; max?: number } | undefined) {
  let min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum : -1e9);
  let max = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum : 1e9);
  if (range?.min !== undefined) min = Math.max(min, range.min);
  if (range?.max !== undefined) max = Math.min(max, range.max);
  if (integer) {
    const lo = Math.ceil(s.exclusiveMinimum !== undefined && s.minimum === undefined ? min + 1 : min);
    const hi = Math.floor(s.exclusiveMaximum !== undefined && s.maximum === undefined ? max - 1 : max);
    return fc.bigInt({ min: BigInt(lo), max: BigInt(hi) }).map(Number);
  }
  return fc.double({
    min,
    max,
    noNaN: true,
    noDefaultInfinity: true,
    minExcluded: s.exclusiveMinimum !== undefined && s.minimum === undefined,
    maxExcluded: s.exclusiveMaximum !== undefined && s.maximum === undefined,
  });
}

/** Values that satisfy `schema` (give or take hints, which may not), built from JSON Schema alone. */
export function schemaArbitrary(
  schema: JsonSchema,
  o: SchemaArbitraryOptions = {},
  name?: string,
): fc.Arbitrary<unknown> {
  const hint = name === undefined ? undefined : o.hints?.[name];
  const withHint = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
    hint ? fc.oneof({ weight: 3, arbitrary: hint }, { weight: 1, arbitrary: arb }) : arb;

  if (schema.const !== undefined) return fc.constant(schema.const);
  // A hint on an enum adds near misses (wrong case, other names) to the allowed values.
  if (schema.enum) return withHint(fc.constantFrom(...schema.enum));
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((a) => schemaArbitrary(a, o, name)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      const props = schema.properties ?? {};
      const required = new Set(schema.required ?? []);
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries(props)) model[k] = schemaArbitrary(v, o, k);
      const fixed = fc.record(model, { requiredKeys: [...required].filter((k) => k in props) });
      const extra = schema.additionalProperties;
      if (!extra || extra === true) return withHint(fixed);
      const key = schema.propertyNames
        ? (schemaArbitrary(
            { type: 'string', ...schema.propertyNames },
            o,
            `${name ?? ''}.key`,
          ) as fc.Arbitrary<string>)
        : fc.string({ maxLength: 20 });
      const dict = fc.dictionary(key, schemaArbitrary(extra, o, `${name ?? ''}.value`), { maxKeys: 4 });
      return withHint(
        fc.tuple(fixed, dict).map(([a, b]) => {
          const out: Record<string, unknown> = {};
          for (const [k, v] of Object.entries(b)) setOwn(out, k, v);
          return Object.assign(out, a);
        }),
      );
    }
    case 'array': {
      const min = schema.minItems ?? 0;
      const max = Math.max(min, Math.min(schema.maxItems ?? 8, o.maxArrayItems ?? 8));
      // Items take the array's hint: "targets" hints are targets, not lists of them.
      return fc.array(schemaArbitrary(schema.items ?? {}, o, name), { minLength: min, maxLength: max });
    }
    case 'string':
      return withHint(stringArb(schema, o));
    case 'integer':
      return withHint(numberArb(schema, true, name ? o.ranges?.[name] : undefined));
    case 'number':
      return withHint(numberArb(schema, false, name ? o.ranges?.[name] : undefined));
    case 'boolean':
      return withHint(fc.boolean());
    case 'null':
      return fc.constant(null);
    default:
      return withHint(fc.jsonValue({ maxDepth: 2 }));
  }
}

/**
 * Argument objects a client might send: schema-conforming ones, the same with one field broken,
 * required ones missing, arrays far over their limit, extra keys, or an object of junk.
 */
export function toolArguments(schema: JsonSchema, o: SchemaArbitraryOptions): fc.Arbitrary<unknown> {
  const valid = schemaArbitrary(schema, o) as fc.Arbitrary<Record<string, unknown>>;
  const keys = Object.keys(schema.properties ?? {});
  const broken = fc
    .tuple(valid, keys.length > 0 ? fc.constantFrom(...keys) : fc.constant('x'), junkValue)
    .map(([args, key, junk]) => setOwn({ ...args }, key, junk));
  const extraKeys = fc
    .tuple(valid, fc.array(fc.tuple(junkKey, junkValue), { minLength: 1, maxLength: 3 }))
    .map(([args, extra]) => extra.reduce((o2, [k, v]) => setOwn(o2, k, v), { ...args }));
  const missing = valid.map((args) => {
    const copy = { ...args };
    for (const k of schema.required ?? []) delete copy[k];
    return copy;
  });
  const oversizedArrays = valid.chain((args) => {
    const arrays = keys.filter((k) => schema.properties?.[k]?.type === 'array');
    if (arrays.length === 0) return fc.constant(args);
    return fc
      .tuple(fc.constantFrom(...arrays), fc.integer({ min: 51, max: 2000 }), fc.string({ maxLength: 12 }))
      .map(([k, n, item]) => ({ ...args, [k]: Array.from({ length: n }, () => item) }));
  });
  return fc.oneof(
    { weight: 6, arbitrary: valid },
    { weight: 4, arbitrary: broken },
    { weight: 1, arbitrary: extraKeys },
    { weight: 1, arbitrary: missing },
    { weight: 1, arbitrary: oversizedArrays },
    { weight: 1, arbitrary: junkObject },
  );
}
