import { eq } from 'drizzle-orm';
import * as t from '../schema.js';
import type { TokenRecord } from '../types.js';
import type { TokenRecords } from '../ports/tokens.js';
import { ph, type SqliteCore } from './core.js';

export class SqliteTokens implements TokenRecords {
  constructor(private readonly c: SqliteCore) {}

  // ---- tokens ----
  addToken(rec: TokenRecord): Promise<void> {
    return this.c.call(() => {
      this.c.db.insert(t.tokens).values(rec).run();
    });
  }
  getToken(id: string): Promise<TokenRecord | null> {
    // Built once: every admin request reads its token (issue 25, B10).
    return this.c.call(() => this.c.prep('getToken', () => this.c.db.select().from(t.tokens).where(eq(t.tokens.id, ph('id'))).prepare()).get({ id }) ?? null);
  }
  listTokens(): Promise<TokenRecord[]> {
    return this.c.call(() => this.c.db.select().from(t.tokens).orderBy(t.tokens.createdAt).all());
  }
  revokeToken(id: string, at: string): Promise<boolean> {
    return this.c.call(() => this.c.db.update(t.tokens).set({ revokedAt: at }).where(eq(t.tokens.id, id)).run().changes > 0);
  }
}
