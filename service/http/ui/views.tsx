/**
 * The console's pages, server-rendered with hono's JSX. Plain HTML forms (no JavaScript),
 * landmarks, labelled controls, captioned tables, and warnings said in words as well as colour.
 */
export * from './layout.js';
export * from './pages/scopes.js';
export * from './pages/overview.js';
export * from './pages/repository.js';
export * from './pages/revocations.js';
export * from './pages/crls.js';
export * from './pages/upstreams.js';
export * from './pages/audit.js';
