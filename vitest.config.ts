import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/unit/**/*.test.ts',
      'test/integration/**/*.test.ts',
      'test/infra/**/*.test.ts',
      'test/e2e/**/*.test.ts',
    ],
    // The browser tests load the built sites; this builds them when the fronts' sources changed.
    // The temp guard gives the run a temp folder of its own and fails a run that leaves anything in it.
    globalSetup: ['test/e2e/global-setup.ts', 'test/support/temp-guard.ts'],
    // Generous: a test that spawns the CLI several times took over 30 s on a 2-core machine at load 14
    // (the suite then ran 3× slower). Timeouts catch hangs here; speed is measured in bench/.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
