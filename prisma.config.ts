// Prisma CLI configuration. Used only to author migrations and generate the client; Gatehouse
// applies migrations itself (src/db/migrator.ts) and never runs the Prisma CLI at start-up.
import { defineConfig } from 'prisma/config';

// Once a config file exists Prisma no longer reads .env, and with no URL it falls back to a
// downloaded engine that cannot be fetched here (DESIGN.md §1).
process.env.DATABASE_URL ??= 'postgresql://gatehouse@localhost:5432/gatehouse';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  experimental: { adapter: true },
  engine: 'js',
  async adapter() {
    const { PrismaPGlite } = await import('pglite-prisma-adapter');
    const { PGlite } = await import('@electric-sql/pglite');
    // typed against an older driver-adapter-utils than prisma's; the runtime contract matches
    return new PrismaPGlite(new PGlite()) as never;
  },
});
