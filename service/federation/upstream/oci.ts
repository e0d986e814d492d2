/**
 * An upstream that is a tag in a registry (issue 20, `upstream add NAME --url oci://REF`): an
 * air-gapped keyshare follows the tag its internal mirror keeps fresh. Each poll is a HEAD of
 * the manifest; a digest other than the last one imported pulls the artifact and imports it
 * (service/federation/bundle/registry.ts, then import.ts: verification first, ROLLBACK, BUNDLE_GAP, one
 * transaction), pinned to the root given at `upstream add`.
 *
 * The imported trust belongs to the bundle origin's own row (`bundle:<origin>`), exactly as
 * with `bundle import`; this row only follows the tag: its state is the digest last imported,
 * its status the outcome of the last poll. A refused bundle changes nothing and stays in
 * lastError; the same digest is not pulled again until the tag moves (or the service restarts),
 * except one refused for a gap (BUNDLE_GAP, found from its manifest before download): each poll
 * looks again, so that it lands once someone imports the full bundle the refusal named.
 * The row keeps the `--ca` and `--insecure` it was added with, over the service's defaults.
 */
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { KeyshareError, Codes } from '../../errors.js';
import type { UpstreamRecord } from '../../store/index.js';
import { BundleCodes } from '../../../shared/bundle/errors.js';
import { importFromRegistry } from '../bundle/registry.js';
import type { RegistryOptions } from '../ports.js';
import { isOciReference, parseOciReference } from '../../../shared/oci/reference.js';
import type { SyncDeps, SyncOutcome } from './sync.js';
import { OciCodes } from '../../../shared/oci/errors.js';

export const isOciRow = (row: { url: string }) => isOciReference(row.url);

/** The TLS settings given at `upstream add` (`--ca`, `--insecure`), kept with the row. */
export interface OciRowRegistry {
  /** PEM CA certificate(s) for the registry's TLS certificate (null: the service's default). */
  ca: string | null;
  /** Plain HTTP, for a registry on loopback only. */
  insecure: boolean;
}

/** What an OCI upstream row's `state` holds. */
export type OciFollowState = {
  kind: 'oci';
  /** The manifest digest last looked at (imported, or refused); null before the first poll. */
  digest: string | null;
  /** The origin of the bundle last imported. */
  origin: string | null;
  /** Whether that digest was imported (false: refused, see lastError). */
  imported: boolean;
  /** Absent on rows from before it was kept: the service's default. */
  registry?: OciRowRegistry;
};

/** A new row's state: nothing polled yet, the TLS settings of `upstream add`. */
export const initialOciState = (registry: OciRowRegistry): OciFollowState => ({ kind: 'oci', digest: null, origin: null, imported: false, registry });

/** The row's own --ca and --insecure over the service's registry options. */
export function rowRegistryOptions(base: RegistryOptions | undefined, row: OciRowRegistry | undefined): RegistryOptions {
  return { ...base, ...(row?.ca ? { ca: Buffer.from(row.ca, 'utf8') } : {}), ...(row?.insecure ? { insecure: true } : {}) };
}

export async function syncOciUpstream(deps: SyncDeps & { registry?: RegistryOptions }, row: UpstreamRecord): Promise<SyncOutcome> {
  const now = (deps.clock ?? (() => new Date()))();
  const prev = row.state as OciFollowState | null;
  const kept = prev?.registry;
  const registry = rowRegistryOptions(deps.registry, kept);
  const ref = parseOciReference(row.url);
  let digest: string | null = null;
  try {
    const head = await deps.client.registry(ref, registry).headManifest(ref.digest ?? ref.tag!);
    if (!head) throw new KeyshareError(OciCodes.OCI_MANIFEST_UNKNOWN, `${row.url} is not in the registry`);
    digest = head.digest;
    // A bundle refused for a gap is looked at again (its manifest only, until the base is here:
    // someone may have imported the full bundle the refusal named); any other refusal stands.
    const retry = prev?.imported === false && (row.lastError ?? '').startsWith(`${BundleCodes.BUNDLE_GAP}:`);
    if (digest !== null && prev?.digest === digest && !retry) {
      // Nothing new on the tag: a successful poll (or the same refused bundle again, reported as before).
      if (!prev.imported) {
        const [code, ...message] = (row.lastError ?? 'REFUSED: refused before').split(': ');
        return { name: row.name, ok: false, changed: false, timestampVersion: row.timestampVersion, error: { code: code!, message: message.join(': ') } };
      }
      await deps.store.updateUpstreamStatus(row.name, { lastSuccessAt: now.toISOString(), lastError: null });
      return { name: row.name, ok: true, changed: false, timestampVersion: row.timestampVersion, error: null };
    }
    const scratch = join(deps.dataDir, 'upstreams', row.name);
    mkdirSync(scratch, { recursive: true, mode: 0o700 });
    const tmp = mkdtempSync(join(scratch, 'pull-'));
    try {
      const r = await importFromRegistry({ client: deps.client, ref: digest ? `oci://${ref.registry}/${ref.repository}@${digest}` : row.url, registry, root: row.root, store: deps.store, publisher: deps.publisher, tmpDir: tmp, clock: deps.clock });
      const state: OciFollowState = { kind: 'oci', digest: r.pulled.digest, origin: r.origin, imported: true, registry: kept };
      await deps.store.updateUpstreamStatus(row.name, { state, timestampVersion: r.versions.timestamp, lastSuccessAt: now.toISOString(), lastError: null });
      return { name: row.name, ok: true, changed: r.changed, timestampVersion: r.versions.timestamp, error: null, revocationsAdded: r.revocationsAdded, crlsUpdated: r.crlsUpdated, crlErrors: r.crlErrors };
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  } catch (e) {
    const err = e instanceof KeyshareError ? e : new KeyshareError(Codes.INTERNAL, (e as Error).message, { cause: e });
    const state: OciFollowState | null = digest ? { kind: 'oci', digest, origin: prev?.origin ?? null, imported: false, registry: kept } : prev;
    await deps.store.updateUpstreamStatus(row.name, { state, lastError: `${err.code}: ${err.message}`.replace(/\s+/g, ' ').slice(0, 2000) });
    return { name: row.name, ok: false, changed: false, timestampVersion: row.timestampVersion, error: { code: err.code, message: err.message } };
  }
}
