// Writes docs/tools.md from the built tool registry (npm run docs builds first).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderToolDocs } from '../dist/tools/docs.js';
import { tools } from '../dist/tools/index.js';

const target = join(import.meta.dirname, '..', 'docs', 'tools.md');
writeFileSync(target, renderToolDocs(tools));
process.stdout.write(`wrote ${target}\n`);
