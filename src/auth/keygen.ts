import { parseArgs } from 'node:util';
import { generateApiKey } from './apiKeys.js';
import { isScope, type Scope } from './scopes.js';

export const KEYGEN_HELP = `Usage: server-audit-mcp keygen --name NAME --scopes SCOPE[,SCOPE...]

Prints a new API key once, and the line to add to AUTH_API_KEYS_FILE (which holds only its
SHA-256 hash). Scopes: audit:read, audit:network, audit:logs, audit:admin.
`;

/** `keygen` subcommand: returns what to print, or throws an Error with a one-line message. */
export function keygen(argv: string[]): string {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: { name: { type: 'string' }, scopes: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return KEYGEN_HELP;
  if (!values.name) throw new Error('keygen needs --name (who the key is for, e.g. ci)');
  if (!values.scopes) throw new Error('keygen needs --scopes (e.g. audit:read)');
  const scopes = values.scopes
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = scopes.find((s) => !isScope(s));
  if (bad !== undefined)
    throw new Error(`unknown scope "${bad}": use audit:read, audit:network, audit:logs or audit:admin`);
  const { key, line } = generateApiKey(values.name, scopes as Scope[]);
  return (
    `API key (shown once; store it in your client's secret store):\n${key}\n\n` +
    `Add this line to AUTH_API_KEYS_FILE:\n${line}\n`
  );
}
