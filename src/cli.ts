import { parseArgs } from 'node:util';

/**
 * The command line alone, with node built-ins only: `--help` and `--version` answer from here
 * before config (zod, ipaddr.js) or the runtime (SDK, express, pino) is loaded.
 */
export const HELP = `server-audit-mcp: an MCP server for auditing servers

Usage:
  server-audit-mcp [--host ADDR] [--port N]   serve streamable HTTP at http://ADDR:N/mcp
  server-audit-mcp --stdio                    serve over stdin/stdout (logs on stderr)
  server-audit-mcp keygen --name NAME --scopes audit:read[,...]   print a new API key
  server-audit-mcp --help | --version

Settings come from environment variables (see README.md), and from a .env file in the working
directory when there is one (the real environment wins); --host and --port override HOST and PORT.
Data (baselines) goes to DATA_DIR, by default $XDG_DATA_HOME/server-audit-mcp or
~/.local/share/server-audit-mcp.
`;

export function parseCli(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      stdio: { type: 'boolean' },
      host: { type: 'string' },
      port: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
}
