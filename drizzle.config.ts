import { defineConfig } from 'drizzle-kit';

// `npx drizzle-kit generate` writes a new versioned migration after a schema change.
export default defineConfig({
  dialect: 'sqlite',
  schema: './service/store/schema.ts',
  out: './service/store/migrations/sqlite',
});
