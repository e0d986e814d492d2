/**
 * tuf-js's Updater, for an import() (fetch-trust.ts loads it only when a refresh runs it: issue
 * 25, a warm fetch with nothing changed does without). An import() of the CommonJS package
 * itself would get only its default export once bundled (scripts/bundle.mjs).
 */
export { Updater } from 'tuf-js';
