// Vitest browser mode in the consumer project: the test file and 'relu-repair' (the installed
// tarball, "browser" export condition) are bundled by Vite and run in Debian's Chromium.

import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // relu-repair and glpk.js locate their wasm and worker files with import.meta.url: serve them as they are.
  optimizeDeps: { exclude: ['relu-repair', 'glpk.js'] },
  worker: { format: 'es' },
  test: {
    include: ['browser.test.js'],
    testTimeout: 60_000,
    browser: {
      enabled: true,
      headless: true,
      screenshotFailures: false,
      provider: playwright({
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
          args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
        },
      }),
      instances: [{ browser: 'chromium' }],
    },
  },
});
