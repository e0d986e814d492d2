import { eq } from 'drizzle-orm';
import * as t from '../schema.js';
import { KeyshareError, CaCodes } from '../../errors.js';
import type { CaRecord } from '../types.js';
import type { CaRecords } from '../ports/cas.js';
import { ph, type SqliteCore } from './core.js';

export class SqliteCas implements CaRecords {
  constructor(private readonly c: SqliteCore) {}

  // ---- signing authorities ----
  listCas(): Promise<CaRecord[]> {
    return this.c.call(() => this.c.db.select().from(t.cas).orderBy(t.cas.name).all() as CaRecord[]);
  }
  getCa(name: string): Promise<CaRecord | null> {
    // Built once: every publish asks for the TSA's (service/ca/tsa.ts tsaSignersOf; issue 25, B10).
    return this.c.call(() => (this.c.prep('getCa', () => this.c.db.select().from(t.cas).where(eq(t.cas.name, ph('name'))).prepare()).get({ name }) as CaRecord | undefined) ?? null);
  }
  addCa(rec: CaRecord): Promise<void> {
    return this.c.call(() => {
      if (this.c.db.select().from(t.cas).where(eq(t.cas.name, rec.name)).get()) throw new KeyshareError(CaCodes.CA_EXISTS, `a signing authority named ${rec.name} exists`);
      this.c.db.insert(t.cas).values(rec).run();
    });
  }
}
