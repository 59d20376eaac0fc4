import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadThresholdsFile } from '../../src/thresholdsFile.js';

const dir = mkdtempSync(join(tmpdir(), 'thresholds-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('THRESHOLDS_FILE', () => {
  it('reads a partial YAML file', () => {
    const t = loadThresholdsFile(file('ok.yaml', 'diskUsedPercent: { high: 80, critical: 90 }\n'));
    expect(t.diskUsedPercent).toMatchObject({ high: 80, critical: 90 });
  });

  it('calls broken YAML broken YAML, not an unreadable file', () => {
    const p = file('bad.yaml', 'diskUsedPercent:\n  high: 80\n critical: 90\n');
    expect(() => loadThresholdsFile(p)).toThrow(/Invalid THRESHOLDS_FILE .*not valid YAML\/JSON/);
    expect(() => loadThresholdsFile(p)).not.toThrow(/cannot read it/);
  });

  it('names a missing file and an unknown key', () => {
    expect(() => loadThresholdsFile(join(dir, 'none.yaml'))).toThrow(/cannot read it \(ENOENT\)/);
    expect(() => loadThresholdsFile(file('typo.yaml', 'diskUsedPrecent: { high: 80 }\n'))).toThrow(
      /Invalid THRESHOLDS_FILE .*diskUsedPrecent|Unrecognized key/,
    );
  });
});
