import { eq } from 'drizzle-orm';
import * as t from './schema.js';
import type { TokenRecord } from '../types.js';
import type { TokenRecords } from '../ports/tokens.js';
import { changed, inFrames, type PgCore } from './core.js';

export class PgTokens implements TokenRecords {
  constructor(private readonly c: PgCore) {}

  static {
    inFrames(PgTokens);
  }

  // ---- tokens ----
  async addToken(rec: TokenRecord): Promise<void> {
    await this.c.db.insert(t.tokens).values(rec);
  }
  async getToken(id: string): Promise<TokenRecord | null> {
    const [row] = await this.c.db.select().from(t.tokens).where(eq(t.tokens.id, id));
    return row ?? null;
  }
  async listTokens(): Promise<TokenRecord[]> {
    return this.c.db.select().from(t.tokens).orderBy(t.tokens.createdAt);
  }
  async revokeToken(id: string, at: string): Promise<boolean> {
    return changed(await this.c.db.update(t.tokens).set({ revokedAt: at }).where(eq(t.tokens.id, id)));
  }
}
