import { eq } from 'drizzle-orm';
import * as t from './schema.js';
import { KeyshareError, CaCodes } from '../../errors.js';
import type { CaRecord } from '../types.js';
import type { CaRecords } from '../ports/cas.js';
import { inFrames, type PgCore } from './core.js';

export class PgCas implements CaRecords {
  constructor(private readonly c: PgCore) {}

  static {
    inFrames(PgCas);
  }

  // ---- signing authorities ----
  async listCas(): Promise<CaRecord[]> {
    return (await this.c.db.select().from(t.cas).orderBy(t.cas.name)) as CaRecord[];
  }
  async getCa(name: string): Promise<CaRecord | null> {
    const [row] = await this.c.db.select().from(t.cas).where(eq(t.cas.name, name));
    return (row as CaRecord | undefined) ?? null;
  }
  async addCa(rec: CaRecord): Promise<void> {
    const inserted = await this.c.db.insert(t.cas).values(rec).onConflictDoNothing().returning({ name: t.cas.name });
    if (inserted.length === 0) throw new KeyshareError(CaCodes.CA_EXISTS, `a signing authority named ${rec.name} exists`);
  }
}
