/**
 * Version of this frontend, read from package.json at build time so it cannot
 * drift from the version the Python package is built with.
 *
 * `require` rather than `import`: package.json sits outside tsc's rootDir.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const packageInfo: { version: string } = require('../package.json');

export const FRONTEND_VERSION: string = packageInfo.version;
