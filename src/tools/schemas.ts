import { z } from 'zod';
import { SEVERITIES } from '../audit/findings.js';

/**
 * Sub-schemas every tool shares. The `id` in their metadata makes the SDK's JSON Schema
 * conversion emit them once per tool under `$defs` and point at them with `$ref`, instead of
 * repeating them at every use (tools/list is read on every connection; see BENCHMARKS.md).
 */
export const severitySchema = z.enum(SEVERITIES).meta({ id: 'severity' });

/** DESIGN.md "A finding". */
export const findingSchema = z
  .object({
    id: z.string().describe('Stable rule id; per-item ones end in ":<subject>"'),
    severity: severitySchema,
    title: z.string(),
    evidence: z.string(),
    recommendation: z.string(),
  })
  .meta({ id: 'finding' });

/** Findings by severity (all five keys). */
export const findingCountsSchema = z.record(severitySchema, z.number());

/**
 * `T | null` spelled as `anyOf: [T, {type: "null", const: null}]`. zod folds `.nullable()` of a
 * plain type into `type: ["string", "null"]`, which several clients' schema validators reject;
 * the `const` keeps the null branch out of that folding. Same values accepted.
 */
export function orNull<T extends z.ZodType>(schema: T) {
  return z.union([schema, z.literal(null)]);
}

/**
 * An ISO 8601 date-time with a zone, validated exactly as `z.iso.datetime({ offset: true })`;
 * its JSON Schema says `format: date-time` without zod's 400-character pattern.
 */
const isoDateTimeCheck = z.iso.datetime({ offset: true });
export const isoDateTime = z
  .string()
  .refine((s) => isoDateTimeCheck.safeParse(s).success, { error: 'Invalid ISO datetime' })
  .meta({ format: 'date-time' });

type Json = { [key: string]: unknown };

/** How many object levels of an output field tools/list spells out (see listedOutput). */
export const LISTED_OBJECT_DEPTH = 0;

/**
 * The output shape as tools/list shows it: each field keeps its zod schema for validation and
 * docs/tools.md, but lists a compact JSON Schema: names and types of the first
 * LISTED_OBJECT_DEPTH object levels below the field, no descriptions (docs/tools.md has them),
 * deeper objects as `{"type": "object"}`. The full schemas were 46 KB of a 74 KB tools/list
 * that every conversation pays for; the values sent still match the full schema (validated
 * here) and therefore the listed one, which only says less.
 *
 * Findings arrays stay as they are: they use the shared finding/severity `$defs`.
 */
export function listedOutput<O extends z.ZodRawShape>(shape: O): O {
  const out: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(shape)) out[key] = listedField(field as z.ZodType);
  return out as unknown as O;
}

const FULL = new WeakMap<z.ZodType, z.ZodType>();

/** The documented (full) schema behind a listed output field. */
export function fullSchemaOf(schema: z.ZodType): z.ZodType {
  return FULL.get(schema) ?? schema;
}

function listedField(field: z.ZodType): z.ZodType {
  const plain = z.toJSONSchema(field, {
    io: 'output',
    target: 'draft-2020-12',
    // A fresh registry: no ids (everything inline), no nested descriptions.
    metadata: z.registry<Record<string, unknown>>(),
    unrepresentable: 'any',
  }) as Json;
  if (usesSharedDefs(field)) return field;
  const compact = prune(plain, 0) as Json;
  // Validation (and the type) stay the field's; only the listed JSON Schema is the pipe's end.
  const listed = field.pipe(z.unknown().meta(compact)) as unknown as z.ZodType;
  FULL.set(listed, field);
  return listed;
}

/** A findings array or counts: listed through the shared `$defs` already. */
function usesSharedDefs(field: z.ZodType): boolean {
  const def = field._zod.def as { type: string; element?: unknown; valueType?: unknown };
  return (def.type === 'array' && def.element === findingSchema) || field === findingCountsSchema;
}

function prune(node: unknown, depth: number): unknown {
  if (Array.isArray(node)) return node.map((n) => prune(n, depth));
  if (node === null || typeof node !== 'object') return node;
  const src = node as Json;
  const out: Json = {};
  for (const [k, v] of Object.entries(src)) {
    if (k === 'description' || k === '$schema') continue;
    // zod's .int() bounds (the safe-integer range) say nothing a reader needs.
    if ((k === 'minimum' || k === 'maximum') && Math.abs(v as number) === Number.MAX_SAFE_INTEGER) continue;
    if (k === 'additionalProperties' && v === false) continue;
    if (k === 'properties' || k === 'required' || k === 'propertyNames') {
      if (depth >= LISTED_OBJECT_DEPTH) continue;
      if (k === 'properties') {
        out[k] = Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, prune(s, depth + 1)]));
        continue;
      }
    }
    out[k] =
      k === 'items' || k === 'additionalProperties' || k === 'anyOf' || k === 'oneOf' ? prune(v, depth) : v;
  }
  // As in orNull: keeps zod from folding `anyOf: [{type: object}, {type: null}]` into a type array.
  if (out.type === 'null') out.const = null;
  return out;
}

/**
 * A string of min to max characters. The bound is checked here but left out of the listed
 * JSON Schema: lengths like 4096 for a path never guide a caller, and every listing paid for them.
 */
export function boundedString(min: number, max: number) {
  return z.string().refine((s) => s.length >= min && s.length <= max, {
    error: min > 0 ? `must be ${min} to ${max} characters` : `must be at most ${max} characters`,
  });
}
