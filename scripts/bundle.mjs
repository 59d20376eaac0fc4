// Builds the Claude Desktop bundle (.mcpb) with the official packer: manifest.json, dist/, views/ and
// the production dependencies installed from package-lock.json (npm's cache first). `npm run
// bundle` builds dist/ first. Output: bundle/server-audit-mcp-<version>.mcpb
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const mcpb = join(root, 'node_modules', '.bin', 'mcpb');
const stage = mkdtempSync(join(tmpdir(), 'server-audit-mcpb-'));
const out = join(root, 'bundle', `server-audit-mcp-${version}.mcpb`);
try {
  execFileSync(mcpb, ['validate', join(root, 'manifest.json')], { stdio: 'inherit' });
  for (const f of ['manifest.json', 'package.json', 'package-lock.json', 'README.md', 'LICENSE'])
    cpSync(join(root, f), join(stage, f));
  cpSync(join(root, 'dist'), join(stage, 'dist'), {
    recursive: true,
    filter: (src) => !src.endsWith('.map'),
  });
  // The MCP Apps pages, read at run time beside dist/ (uPlot, which they inline, is a dependency).
  cpSync(join(root, 'views'), join(stage, 'views'), { recursive: true });
  // --ignore-scripts: the prepare script builds from src/, which a bundle does not carry.
  execFileSync(
    'npm',
    ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'],
    { cwd: stage, stdio: 'inherit' },
  );
  mkdirSync(join(root, 'bundle'), { recursive: true });
  execFileSync(mcpb, ['pack', stage, out], { stdio: 'inherit' });
  process.stdout.write(`bundle: ${out}\n`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
