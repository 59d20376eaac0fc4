import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TOOLSET_NAMES } from '../../src/config.js';
import { renderToolDocs } from '../../src/tools/docs.js';
import { selectTools, TOOLSET_OF, tools } from '../../src/tools/index.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('generated tool reference', () => {
  it('docs/tools.md is what `npm run docs` writes from the registry', () => {
    const onDisk = readFileSync(join(ROOT, 'docs', 'tools.md'), 'utf8');
    // On failure: run `npm run docs` and commit docs/tools.md.
    expect(onDisk).toBe(renderToolDocs(tools));
  });

  it('documents every argument and every output field of every tool', () => {
    const doc = renderToolDocs(tools);
    for (const t of tools) {
      const section = doc.slice(doc.indexOf(`## ${t.name}\n`));
      for (const arg of Object.keys(t.inputSchema)) expect(section).toContain(`| \`${arg}\` |`);
      for (const field of Object.keys(t.outputSchema)) expect(section).toContain(`| \`${field}\` |`);
    }
  });
});

describe('TOOLSETS', () => {
  it('puts every tool in exactly one known toolset', () => {
    for (const t of tools) expect(TOOLSET_NAMES).toContain(TOOLSET_OF[t.name]);
    expect(Object.keys(TOOLSET_OF).sort()).toEqual(tools.map((t) => t.name).sort());
  });

  it('offers only the tools of the named toolsets', () => {
    const names = (sets: (typeof TOOLSET_NAMES)[number][]) => selectTools(tools, sets).map((t) => t.name);
    expect(names(['database'])).toEqual(['check_database', 'analyze_slow_queries']);
    expect(names(['health'])).toEqual([
      'detect_system',
      'run_health_check',
      'compare_baselines',
      'delete_baselines',
      'list_hosts',
      'fleet_health',
    ]);
    expect(selectTools(tools, [...TOOLSET_NAMES])).toHaveLength(tools.length);
  });
});
