/**
 * Playwright configuration of the Galata UI tests.
 *
 * Uses Debian's Chromium (/usr/bin/chromium, or CHROMIUM_PATH): Playwright must
 * never download a browser here. Starts JupyterLab itself (`jlpm start`).
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

// scripts/ui-tests.sh picks a free port; jupyter_server_test_config.py reads it too.
const port = process.env.ESCAPE_DLAAS_UI_PORT || '8888';
const baseURL = `http://localhost:${port}`;

module.exports = {
  ...baseConfig,
  // Two cores here: one worker keeps JupyterLab and Chromium responsive.
  workers: 1,
  // The first run writes the reference screenshots instead of failing.
  updateSnapshots: 'missing',
  use: {
    ...baseConfig.use,
    baseURL,
    // Recording needs Playwright's own ffmpeg, which is not installed.
    video: 'off',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run'
      ]
    }
  },
  webServer: {
    command: 'jlpm start',
    url: `${baseURL}/lab`,
    timeout: 120 * 1000,
    reuseExistingServer: !process.env.CI
  }
};
