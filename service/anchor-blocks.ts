/**
 * Local blocks of anchors (federation, service/domain/federation.ts): `anchor block SCOPE ID`
 * leaves the anchor out of the scope's published trust, and out of every scope inheriting from
 * it, without touching what the upstream defines; `anchor unblock` lifts it. A block stays
 * until lifted, also while its scope is gone (an upstream that drops and brings back a scope
 * does not bring back a blocked anchor). Validate, write through the store, then publish.
 */
import { normalizeAnchorId } from './domain/anchor.js';
import { parseScope } from './domain/scope.js';
import { KeyshareError, Codes } from './errors.js';
import type { Publisher, PublishResult } from './repo/publisher.js';
import type { TrustRecords } from './store/index.js';

const ANCHOR_ID = /^(sha256:[0-9a-f]{64}|pgp:[0-9a-f]{40})$/;

export interface AnchorBlock {
  scope: string;
  anchorId: string;
  createdAt: string;
}

export class AnchorBlocks {
  constructor(
    private readonly store: Pick<TrustRecords, 'listAnchorBlocks' | 'addAnchorBlock' | 'removeAnchorBlock'>,
    private readonly publisher: Pick<Publisher, 'notify'>,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async list(scope?: string): Promise<AnchorBlock[]> {
    if (scope !== undefined) parseScope(scope);
    return this.store.listAnchorBlocks(scope);
  }

  async block(scope: string, id: string): Promise<{ added: boolean; block: AnchorBlock; published: PublishResult | null }> {
    parseScope(scope);
    const anchorId = normalizeAnchorId(id);
    if (!ANCHOR_ID.test(anchorId)) throw new KeyshareError(Codes.BAD_REQUEST, 'an anchor ID is sha256:<64 hex> or pgp:<40 hex>');
    const added = await this.store.addAnchorBlock(scope, anchorId, this.clock());
    const block = (await this.store.listAnchorBlocks(scope)).find((b) => b.anchorId === anchorId)!;
    return { added, block, published: added ? await this.publisher.notify() : null };
  }

  async unblock(scope: string, id: string): Promise<{ published: PublishResult | null }> {
    parseScope(scope);
    const anchorId = normalizeAnchorId(id);
    if (!(await this.store.removeAnchorBlock(scope, anchorId))) throw new KeyshareError(Codes.NOT_FOUND, `anchor ${anchorId} is not blocked at ${scope}`);
    return { published: await this.publisher.notify() };
  }
}
