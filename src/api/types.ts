/**
 * The shapes of the escape-dlaas REST API: request and response bodies.
 *
 * They mirror the server contract, escape_dlaas/web/openapi.yaml: keep field
 * names exactly as the server sends them. Types only, no code. They are
 * grouped by REST area in ./types/ and re-exported here, the one place the
 * rest of the frontend imports them from.
 */
export * from './types/status';
export * from './types/search';
export * from './types/dids';
export * from './types/rules';
export * from './types/upload';
export * from './types/basket';
