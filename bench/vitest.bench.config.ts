// Vitest config for the TypeScript benchmarks in bench/ (they import the test helpers in tests/helpers).
// Kept apart from vitest.config.ts, whose include is tests/** only, so `npm test` never runs them:
//   npx vitest run --config bench/vitest.bench.config.ts
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['bench/**/*.bench.test.ts'],
    // The tables go straight to stdout, without vitest's per-test console headers.
    disableConsoleIntercept: true,
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
