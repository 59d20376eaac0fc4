import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envSchema } from '../../src/config.js';
import { tools } from '../../src/tools/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const read = (f: string) => readFileSync(join(ROOT, f), 'utf8');
/** A markdown table row whose first cell is the name in backticks (cells may be padded). */
const tableRow = (name: string) => new RegExp(`^\\|\\s*\`${name}\`\\s*\\|`, 'm');

describe('documentation matches the code', () => {
  const vars = Object.keys(envSchema.shape);

  it.each(vars)('README.md and .env.example document %s', (name) => {
    expect(read('README.md')).toMatch(tableRow(name));
    expect(read('.env.example')).toMatch(new RegExp(`^${name}=`, 'm'));
  });

  it.each(tools.map((t) => t.name))('README.md lists the tool %s', (name) => {
    expect(read('README.md')).toMatch(tableRow(name));
  });
});
