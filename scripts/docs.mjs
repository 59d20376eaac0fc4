// Writes docs/tools.md from the built tool registry, and keeps manifest.json's tool list and
// version in step with it (npm run docs builds first; tests fail when either is stale).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderToolDocs } from '../dist/tools/docs.js';
import { tools } from '../dist/tools/index.js';

const root = join(import.meta.dirname, '..');
const target = join(root, 'docs', 'tools.md');
writeFileSync(target, renderToolDocs(tools));
process.stdout.write(`wrote ${target}\n`);

const manifestPath = join(root, 'manifest.json');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
manifest.version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
manifest.tools = tools.map((t) => ({ name: t.name, description: t.description }));
writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
process.stdout.write(`updated ${manifestPath}\n`);
