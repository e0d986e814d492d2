/**
 * yaml's parser, for commands that load it on use. A dynamic import() of the package itself
 * would get only its default export once bundled (yaml is CommonJS; scripts/bundle.mjs).
 */
export { parse } from 'yaml';
