/**
 * vitest global setup: with KEYSHARE_TEST_DATABASE=postgres, one throw-away PostgreSQL cluster
 * for the whole run (./postgres.ts), its URL in KEYSHARE_TEST_POSTGRES_URL for the test workers
 * (./database.ts gives each data dir a database on it). Nothing otherwise.
 */
import { startPostgres } from './postgres.js';

export default async function setup(): Promise<(() => Promise<void>) | void> {
  if (process.env.KEYSHARE_TEST_DATABASE !== 'postgres') return;
  // Every data dir of the run has a database here, and each open store a pool of up to 10 connections.
  const cluster = await startPostgres({ maxConnections: 500 });
  process.env.KEYSHARE_TEST_POSTGRES_URL = cluster.url;
  return () => cluster.stop();
}
