/**
 * The admin operations: validate with the pure domain, write through the store (one
 * transaction each), then let the publisher publish. The HTTP handlers call only this.
 */
import { anchorBuilder, buildAnchor, normalizeAnchorId, type AnchorInput } from './domain/anchor.js';
import { parseScope } from './domain/scope.js';
import { LEVELS, REVOCATION_REASONS, type AnchorRecord, type Level, type RevocationReason, type ScopeRecord } from './domain/types.js';
import { KeyshareError, Codes, isKeyshareError } from './errors.js';
import type { Publisher, PublishResult } from './repo/publisher.js';
import type { RevocationInput, Store } from './store/index.js';
import { CrlCodes, caAnchors, certificateIssuerId, crlNumberDecimal } from './domain/crl.js';
import { storeCrl, type StoreCrlOptions } from './crl/store-crl.js';
import { crlTargetPath } from './domain/trust.js';
import { assertAnchorRemovable, assertScopeAppliable, assertScopeRemovable } from './domain/federation.js';
import { parseCrl } from './crypto/index.js';
import { parseUntrustedChain } from './crypto/untrusted.js';
import { checkScopeInTenant, listTenants } from './repo/tenants.js';
import type { RevocationJournal } from './revocation-journal.js';
import { unknownFields } from './domain/fields.js';
import { inDryRun } from './dry-run.js';

export interface ScopeInput {
  scope: string;
  inherit?: boolean;
  level?: Level | null;
}

export interface ApplyAnchor extends Omit<AnchorInput, 'scope'> {}
export interface ApplyScope extends ScopeInput {
  anchors?: ApplyAnchor[];
}
export interface ApplyRevocations {
  certificates?: { issuer: string; serial: string; reason?: RevocationReason; scope?: string | null }[];
  keys?: { id: string; reason?: RevocationReason; scope?: string | null }[];
  signatures?: { digest: string; reason?: RevocationReason; scope?: string | null }[];
}
export interface ApplyFile {
  scopes?: ApplyScope[];
  revoked?: ApplyRevocations;
}
export interface ApplySummary {
  scopesCreated: string[];
  scopesUpdated: string[];
  scopesRemoved: string[];
  anchorsAdded: number;
  anchorsUpdated: number;
  anchorsRemoved: number;
  revocationsAdded: number;
  changed: boolean;
}

export interface InvalidEntry {
  path: string;
  code: string;
  message: string;
}

export interface WriteResult {
  published: PublishResult | null;
}

export function checkLevel(level: unknown): Level | null {
  if (level === undefined || level === null) return null;
  if (!LEVELS.includes(level as Level)) throw new KeyshareError(Codes.BAD_REQUEST, `level must be one of ${LEVELS.join(', ')}`);
  return level as Level;
}

export function checkReason(reason: unknown): RevocationReason {
  if (reason === undefined || reason === null) return 'unspecified';
  if (!REVOCATION_REASONS.includes(reason as RevocationReason)) {
    throw new KeyshareError(Codes.REASON_INVALID, `reason must be one of the RFC 5280 names: ${REVOCATION_REASONS.join(', ')}`);
  }
  return reason as RevocationReason;
}

const HEX_DIGEST = /^sha256:[0-9a-f]{64}$/;
const PGP_ID = /^pgp:[0-9a-f]{40}$/;

/** The fields an apply file may hold, by where they are (CONTRACT.md `apply`: the trust document's names). */
export const APPLY_FIELDS = {
  file: ['scopes', 'revoked'],
  scope: ['scope', 'inherit', 'level', 'anchors'],
  anchor: ['certificate', 'publicKey', 'type', 'name', 'trustedIdentities'],
  revoked: ['certificates', 'keys', 'signatures'],
  certificates: ['issuer', 'serial', 'reason', 'scope'],
  keys: ['id', 'reason', 'scope'],
  signatures: ['digest', 'reason', 'scope'],
} as const;

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A list in an apply file: absent is empty; anything but a list is refused, naming where. */
function listOf(v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new KeyshareError(Codes.APPLY_INVALID, `${path} must be a list`);
  return v;
}

export class TrustService {
  private readonly revocationHooks: ((added: RevocationInput[]) => Promise<void>)[] = [];

  constructor(
    private readonly store: Store,
    private readonly publisher: Publisher,
    private readonly clock: () => Date = () => new Date(),
    /** Issue 24: every stored revocation also goes to the journal, which outlives a restore. */
    private readonly journal: RevocationJournal | null = null,
  ) {}

  /**
   * Runs `hook` after certificate revocations are stored and before they are published: a
   * managed CA signs its CRL again at once (issue 18, service/ca).
   */
  onCertificatesRevoked(hook: (added: RevocationInput[]) => Promise<void>): void {
    this.revocationHooks.push(hook);
  }

  private async certificatesRevoked(added: RevocationInput[]): Promise<void> {
    const certs = added.filter((r) => r.kind === 'certificate');
    if (certs.length > 0) for (const hook of this.revocationHooks) await hook(certs);
  }

  /** After a write: publish it (coalesced with concurrent writes). */
  private async published(): Promise<WriteResult> {
    return { published: await this.publisher.notify() };
  }

  listScopes(): Promise<ScopeRecord[]> {
    return this.store.listScopes();
  }

  async getScope(scope: string): Promise<{ scope: ScopeRecord; anchors: AnchorRecord[] }> {
    parseScope(scope);
    return { scope: await this.store.requireScope(scope), anchors: await this.store.listAnchors([scope]) };
  }

  async createScope(input: ScopeInput): Promise<WriteResult & { scope: ScopeRecord }> {
    parseScope(input.scope);
    checkScopeInTenant(input.scope, await listTenants(this.store));
    const rec: ScopeRecord = { scope: input.scope, inherit: input.inherit ?? true, level: checkLevel(input.level), source: null };
    await this.store.createScope(rec, this.clock());
    return { scope: rec, ...(await this.published()) };
  }

  async deleteScope(scope: string): Promise<WriteResult> {
    parseScope(scope);
    // A federated scope belongs to its upstreams (service/domain/federation.ts).
    assertScopeRemovable(await this.store.requireScope(scope));
    await this.store.deleteScope(scope);
    return this.published();
  }

  async addAnchor(scope: string, input: Omit<AnchorInput, 'scope'>): Promise<WriteResult & { anchor: AnchorRecord }> {
    parseScope(scope);
    await this.store.requireScope(scope);
    const anchor = await buildAnchor({ ...input, scope }, this.clock());
    await this.store.addAnchor(anchor, this.clock());
    return { anchor, ...(await this.published()) };
  }

  async removeAnchor(scope: string, id: string): Promise<WriteResult> {
    parseScope(scope);
    // An upstream's anchor is blocked, not removed (service/domain/federation.ts).
    const anchor = await this.store.getAnchor(scope, normalizeAnchorId(id));
    if (anchor) assertAnchorRemovable(anchor);
    await this.store.removeAnchor(scope, normalizeAnchorId(id));
    return this.published();
  }

  /** Validates a revocation request and returns what to store. */
  revocation(input: {
    kind: 'certificate' | 'key' | 'signature';
    issuer?: string;
    serial?: string;
    id?: string;
    digest?: string;
    reason?: unknown;
    scope?: string | null;
  }): RevocationInput {
    const reason = checkReason(input.reason);
    const scope = input.scope ?? null;
    if (scope !== null) parseScope(scope);
    const revokedAt = this.clock().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const bad = (what: string) => new KeyshareError(Codes.BAD_REQUEST, what);
    for (const field of ['issuer', 'serial', 'id', 'digest'] as const) {
      if (input[field] !== undefined && input[field] !== null && typeof input[field] !== 'string') throw bad(`${field} must be a string`);
    }
    switch (input.kind) {
      case 'key': {
        const id = normalizeAnchorId(input.id ?? '');
        if (!HEX_DIGEST.test(id) && !PGP_ID.test(id)) throw bad('a key ID is sha256:<64 hex> or pgp:<40 hex>');
        return { kind: 'key', id, reason, scope, revokedAt };
      }
      case 'signature': {
        const digest = (input.digest ?? '').toLowerCase();
        if (!HEX_DIGEST.test(digest)) throw bad('a signature digest is sha256:<64 hex>');
        return { kind: 'signature', digest, reason, scope, revokedAt };
      }
      case 'certificate': {
        const issuer = normalizeAnchorId(input.issuer ?? '');
        let serial = (input.serial ?? '').toLowerCase().replace(/^0x/, '').replace(/:/g, '');
        if (!HEX_DIGEST.test(issuer)) throw bad('the issuer is a CA anchor ID, sha256:<64 hex>');
        if (!/^[0-9a-f]{1,42}$/.test(serial)) throw bad('the serial is hex, at most 20 octets (RFC 5280 4.1.2.2)');
        // Whole octets, as certificates and CRL entries give them (`a1b` is `0a1b`), without the sign octet.
        if (serial.length % 2 === 1) serial = `0${serial}`;
        serial = serial.replace(/^(00)+(?=[0-9a-f]{2})/, '');
        if (serial.length > 40) throw bad('the serial is hex, at most 20 octets (RFC 5280 4.1.2.2)');
        return { kind: 'certificate', issuer, serial, reason, scope, revokedAt };
      }
    }
  }

  async revoke(
    input: Parameters<TrustService['revocation']>[0] & { certificate?: string; encoding?: 'text' | 'base64' },
  ): Promise<WriteResult & { added: boolean; revocation: RevocationInput }> {
    const revocation = this.revocation(input.kind === 'certificate' && input.certificate != null ? { ...input, ...(await this.certificateTarget(input.certificate, input.encoding)) } : input);
    const added = await this.store.addRevocation(revocation);
    // A dry run's revocation is rolled back: it must not reach the journal or a CA's CRL (issue 21).
    if (added && !inDryRun()) {
      this.journal?.record([revocation]);
      await this.certificatesRevoked([revocation]);
    }
    return { added, revocation, ...(await this.published()) };
  }

  /**
   * Declarative trust (CONTRACT.md `apply`): validates every entry first and refuses the whole
   * file, naming every invalid entry, if any is bad; otherwise makes the changes in one
   * transaction. Writes only differences, so a second apply changes nothing.
   */
  async apply(file: ApplyFile, options: { prune?: boolean } = {}): Promise<WriteResult & { summary: ApplySummary }> {
    const now = this.clock();
    const errors: InvalidEntry[] = [];
    const record = (path: string, e: unknown) => {
      if (isKeyshareError(e)) errors.push({ path, code: e.code, message: e.message });
      else throw e;
    };
    if (!isObject(file)) {
      throw new KeyshareError(Codes.APPLY_INVALID, 'an apply file is an object with "scopes" and "revoked"');
    }
    // An unknown field anywhere is refused with its path, never ignored (issue 15).
    // Returns whether there was one: an entry with a misnamed field is not validated further.
    const fields = (obj: object, known: readonly string[], at: string) => {
      const unknown = unknownFields(obj, known, at);
      for (const u of unknown) errors.push({ path: u.path, code: Codes.APPLY_INVALID, message: u.message });
      return unknown.length > 0;
    };
    fields(file, APPLY_FIELDS.file, '');
    const entries = listOf(file.scopes, 'scopes');
    const stored = await this.scopesNamed(entries.flatMap((e) => (isObject(e) && typeof e.scope === 'string' ? [e.scope] : [])));
    const wanted = new Map<string, { rec: ScopeRecord; anchors: Map<string, AnchorRecord> }>();
    const anchorOf = anchorBuilder(now);
    for (const [i, entry] of entries.entries()) {
      const path = `scopes[${i}]`;
      try {
        if (!isObject(entry)) throw new KeyshareError(Codes.APPLY_INVALID, 'a scope entry is an object');
        fields(entry, APPLY_FIELDS.scope, path);
        if (typeof entry.scope !== 'string') throw new KeyshareError(Codes.SCOPE_INVALID, 'scope is required');
        parseScope(entry.scope);
        if (wanted.has(entry.scope)) throw new KeyshareError(Codes.APPLY_INVALID, `scope ${entry.scope} is listed twice`);
        const federated = stored.get(entry.scope);
        if (federated) assertScopeAppliable(federated);
        if (entry.inherit !== undefined && typeof entry.inherit !== 'boolean') throw new KeyshareError(Codes.BAD_REQUEST, 'inherit must be true or false');
        const rec: ScopeRecord = { scope: entry.scope, inherit: entry.inherit ?? true, level: checkLevel(entry.level), source: null };
        const anchors = new Map<string, AnchorRecord>();
        for (const [j, a] of listOf(entry.anchors, `${path}.anchors`).entries()) {
          try {
            if (!isObject(a)) throw new KeyshareError(Codes.ANCHOR_INVALID, 'an anchor is an object');
            if (fields(a, APPLY_FIELDS.anchor, `${path}.anchors[${j}]`)) continue;
            const anchor = await anchorOf({ ...a, scope: entry.scope });
            if (anchors.has(anchor.id)) throw new KeyshareError(Codes.ANCHOR_EXISTS, `anchor ${anchor.id} is listed twice`);
            anchors.set(anchor.id, anchor);
          } catch (e) {
            record(`${path}.anchors[${j}]`, e);
          }
        }
        wanted.set(entry.scope, { rec, anchors });
      } catch (e) {
        record(path, e);
      }
    }
    const revocations: RevocationInput[] = [];
    const revoked = file.revoked ?? {};
    if (!isObject(revoked)) throw new KeyshareError(Codes.APPLY_INVALID, '"revoked" is an object with "certificates", "keys" and "signatures"');
    fields(revoked, APPLY_FIELDS.revoked, 'revoked');
    const collect = <T>(list: T[] | undefined, name: keyof typeof APPLY_FIELDS & ('certificates' | 'keys' | 'signatures'), f: (x: T) => RevocationInput) =>
      listOf(list, `revoked.${name}`).forEach((x, i) => {
        try {
          if (!isObject(x)) throw new KeyshareError(Codes.BAD_REQUEST, 'a revocation is an object');
          if (fields(x, APPLY_FIELDS[name], `revoked.${name}[${i}]`)) return;
          revocations.push(f(x as T));
        } catch (e) {
          record(`revoked.${name}[${i}]`, e);
        }
      });
    collect(revoked.certificates, 'certificates', (c) => this.revocation({ kind: 'certificate', ...c }));
    collect(revoked.keys, 'keys', (k) => this.revocation({ kind: 'key', ...k }));
    collect(revoked.signatures, 'signatures', (s) => this.revocation({ kind: 'signature', ...s }));
    if (errors.length > 0) {
      throw new KeyshareError(
        Codes.APPLY_INVALID,
        `${errors.length} invalid ${errors.length === 1 ? 'entry' : 'entries'}, nothing was changed: ` +
          errors.map((e) => `${e.path}: ${e.code === Codes.APPLY_INVALID ? '' : `${e.code}: `}${e.message}`).join('; '),
        { details: errors },
      );
    }

    const summary: ApplySummary = {
      scopesCreated: [],
      scopesUpdated: [],
      scopesRemoved: [],
      anchorsAdded: 0,
      anchorsUpdated: 0,
      anchorsRemoved: 0,
      revocationsAdded: 0,
      changed: false,
    };
    const added: RevocationInput[] = [];
    await this.store.transaction(async () => {
      // (a transaction that is retried starts over)
      added.length = 0;
      Object.assign(summary, { scopesCreated: [], scopesUpdated: [], scopesRemoved: [], anchorsAdded: 0, anchorsUpdated: 0, anchorsRemoved: 0 });
      // The stored state is read once, and new scopes and anchors are written in one batch (bench B4).
      const existing = await this.scopesNamed([...wanted.keys()]);
      const stored = new Map<string, Map<string, AnchorRecord>>();
      for (const a of wanted.size > 0 ? await this.store.listAnchors([...wanted.keys()]) : []) {
        if (!stored.has(a.scope)) stored.set(a.scope, new Map());
        stored.get(a.scope)!.set(a.id, a);
      }
      const created: ScopeRecord[] = [];
      const newAnchors: AnchorRecord[] = [];
      let tenants: Awaited<ReturnType<typeof listTenants>> | null = null;
      for (const { rec, anchors } of wanted.values()) {
        const old = existing.get(rec.scope);
        if (!old) {
          checkScopeInTenant(rec.scope, (tenants ??= await listTenants(this.store)));
          created.push(rec);
          summary.scopesCreated.push(rec.scope);
        } else if (old.inherit !== rec.inherit || old.level !== rec.level) {
          await this.store.updateScope(rec);
          summary.scopesUpdated.push(rec.scope);
        }
        const current = stored.get(rec.scope) ?? new Map<string, AnchorRecord>();
        for (const [id, a] of anchors) {
          const had = current.get(id);
          if (!had) {
            newAnchors.push(a);
            summary.anchorsAdded++;
          } else if (anchorDiffers(had, a)) {
            await this.store.replaceAnchor(a, now);
            summary.anchorsUpdated++;
          }
        }
        if (options.prune) {
          for (const [id, a] of current) {
            if (!anchors.has(id) && !a.source) {
              await this.store.removeAnchor(rec.scope, id);
              summary.anchorsRemoved++;
            }
          }
        }
      }
      if (created.length + newAnchors.length > 0) await this.store.addMany({ scopes: created, anchors: newAnchors }, now);
      if (options.prune) {
        // --prune removes local scopes the file does not name; revocations are never pruned.
        for (const s of await this.store.listScopes()) {
          if (!wanted.has(s.scope) && !s.source) {
            summary.anchorsRemoved += (await this.store.listAnchors([s.scope])).length;
            await this.store.deleteScope(s.scope);
            summary.scopesRemoved.push(s.scope);
          }
        }
      }
      for (const r of revocations) if (await this.store.addRevocation(r)) added.push(r);
      summary.revocationsAdded = added.length;
    });
    if (!inDryRun()) {
      this.journal?.record(added);
      await this.certificatesRevoked(added);
    }
    summary.changed =
      summary.scopesCreated.length + summary.scopesUpdated.length + summary.scopesRemoved.length +
        summary.anchorsAdded + summary.anchorsUpdated + summary.anchorsRemoved + summary.revocationsAdded > 0;
    return { summary, ...(summary.changed ? await this.published() : { published: null }) };
  }

  /**
   * The stored records of the named scopes that exist: point reads for a few, else one read of
   * every scope (an apply of 100k scopes, bench B4).
   */
  private async scopesNamed(names: string[]): Promise<Map<string, ScopeRecord>> {
    const found = new Map<string, ScopeRecord>();
    if (names.length <= 64) {
      for (const name of names) {
        const rec = await this.store.getScope(name);
        if (rec) found.set(name, rec);
      }
    } else {
      const named = new Set(names);
      for (const rec of await this.store.listScopes()) if (named.has(rec.scope)) found.set(rec.scope, rec);
    }
    return found;
  }

  /**
   * `revoke cert --cert FILE`: the issuer anchor ID and serial of a certificate (PEM, or DER as
   * base64). The issuer is the certificate itself when self-issued, else the CA anchor (any
   * scope) or a CA certificate given after it in the file that signed it.
   */
  async certificateTarget(certificate: string, encoding: 'text' | 'base64' = 'text'): Promise<{ issuer: string; serial: string }> {
    const material = encoding === 'base64' ? new Uint8Array(Buffer.from(certificate, 'base64')) : certificate;
    const [cert, ...given] = await parseUntrustedChain(material);
    return { issuer: certificateIssuerId(cert!, caAnchors(await this.store.listAnchors()), given), serial: cert!.serialHex };
  }

  /**
   * `crl add`: checks a CRL (service/domain/crl.ts: issuer, signature, times, number) and, only
   * when accepted, stores it for publication as `crl/{issuer-hex}.crl`. `url` records where
   * the service fetches the issuer's next CRL from (null clears it; undefined keeps it);
   * `expectIssuer` refuses a CRL of another CA (a URL registered for one anchor).
   */
  async addCrl(
    input: string | Uint8Array,
    options: StoreCrlOptions = {},
  ): Promise<WriteResult & { crl: CrlInfo }> {
    const { issuer } = await storeCrl(this.store, input, this.clock(), options);
    return { crl: await this.crlInfo(issuer), ...(await this.published()) };
  }

  /** What `crl add` reports about the stored CRL of an issuer (CRL_UNKNOWN_ISSUER when none). */
  async crlInfo(issuer: string): Promise<CrlInfo> {
    const rec = await this.store.getCrl(issuer);
    if (!rec) throw new KeyshareError(CrlCodes.CRL_UNKNOWN_ISSUER, `no CRL is stored for ${issuer}`);
    const crl = parseCrl(rec.der);
    return {
      issuer,
      crlNumber: crlNumberDecimal(rec.crlNumber),
      crlNumberHex: rec.crlNumber,
      thisUpdate: rec.thisUpdate,
      nextUpdate: rec.nextUpdate,
      revoked: crl.entries.length,
      digest: crl.digest,
      target: crlTargetPath(issuer),
      url: rec.url,
    };
  }
}

/** What `crl add` reports about an accepted CRL. */
export interface CrlInfo {
  issuer: string;
  /** Decimal, as openssl shows it; `crlNumberHex` in hex. */
  crlNumber: string;
  crlNumberHex: string;
  thisUpdate: string;
  nextUpdate: string;
  /** How many certificates it lists. */
  revoked: number;
  digest: string;
  /** The TUF target path; the same bytes are at `/{target}` on the service. */
  target: string;
  /** Where the service fetches the next CRL from, if anywhere. */
  url: string | null;
}

function anchorDiffers(a: AnchorRecord, b: AnchorRecord): boolean {
  return a.name !== b.name || a.type !== b.type || JSON.stringify(a.trustedIdentities ?? null) !== JSON.stringify(b.trustedIdentities ?? null);
}
