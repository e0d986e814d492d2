import { defineConfig } from 'drizzle-kit';

// The PostgreSQL dialect's migrations (issue 11): `npx drizzle-kit generate --config drizzle.pg.config.ts`
// after a change to service/store/pg/schema.ts, which mirrors service/store/schema.ts.
export default defineConfig({
  dialect: 'postgresql',
  schema: './service/store/pg/schema.ts',
  out: './service/store/migrations/pg',
});
