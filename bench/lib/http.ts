/** Small HTTP helpers for the bench harness (its own requests, not the load). */
import { createHash } from 'node:crypto';
import { sleep } from './stats.js';

export async function getBytes(url: string): Promise<Buffer> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`GET ${url}: ${r.status}`);
  return Buffer.from(await r.arrayBuffer());
}

export async function timestampVersion(server: string): Promise<number> {
  const r = await fetch(`${server}/tuf/timestamp.json`, { headers: { 'cache-control': 'no-cache' } });
  if (!r.ok) throw new Error(`timestamp.json: ${r.status}`);
  return ((await r.json()) as { signed: { version: number } }).signed.version;
}

export async function post(server: string, path: string, token: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const r = await fetch(`${server}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: await r.json().catch(() => null) };
}

/** The consistent-snapshot URL path of a target (TUF spec 5.7.3), from its current bytes. */
export async function hashedTargetPath(server: string, path: string): Promise<{ urlPath: string; bytes: Buffer }> {
  const bytes = await getBytes(`${server}/tuf/targets/${path}`);
  const sha = createHash('sha256').update(bytes).digest('hex');
  const slash = path.lastIndexOf('/');
  return { urlPath: `/tuf/targets/${path.slice(0, slash + 1)}${sha}.${path.slice(slash + 1)}`, bytes };
}

export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000, everyMs = 100): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await Promise.resolve().then(check).catch(() => false)) return;
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}
