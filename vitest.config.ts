import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'portal/src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: GDAL-heavy suites must not all run at once.
    maxWorkers: 2,
    pool: 'forks',
    globalSetup: ['src/test-support/global-setup.ts'],
  },
});
