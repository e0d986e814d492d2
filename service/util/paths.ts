import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (the folder with package.json), whether running from sources or dist/. */
/** The data dir's current root metadata (CONTRACT.md). */
export const rootPath = (dataDir: string) => join(dataDir, 'root.json');

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('package root not found');
}
