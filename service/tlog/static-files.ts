/**
 * The log's files for `--static-dir` (issue 23: tiles "servable from --static-dir"): the C2SP
 * tlog-tiles layout of the newest checkpoint under `log/`, so that a static host serving the
 * directory's `log/` at `/log/` answers what the service's /log/ routes answer.
 *
 *   log/tile/<L>/<N>[.p/<W>]   log/tile/entries/<N>[.p/<W>]   (immutable: written once)
 *   log/key                    the log's verifier key
 *   log/checkpoint             the newest signed checkpoint with its witnesses' cosignatures, as
 *                              /log/checkpoint serves it (written last, atomically; again when cosignatures come)
 */
import { parseCheckpoint } from '../../shared/tlog/checkpoint.js';
import { tilePath, tileWidth, TILE_WIDTH, type TileId } from '../../shared/tlog/tiles.js';
import { KeyshareError, Codes } from '../errors.js';
import type { TransparencyLog } from './log.js';
import type { Store } from '../store/index.js';
import { servedCheckpoint } from './witnesses.js';

export const STATIC_LOG_DIR = 'log';

export interface StaticLogFiles {
  /** Every tile and entry bundle of the checkpoint's tree, by path under the static dir. */
  tiles: { rel: string; bytes: () => Promise<Uint8Array> }[];
  key: string;
  checkpoint: string;
}

/** The tiles of a tree of `size` entries: at each level, the full tiles and the partial one at the right edge. */
export function tilesOfTree(size: number): TileId[] {
  const out: TileId[] = [];
  const row = (level: number | 'entries', count: number) => {
    for (let n = 0; n * TILE_WIDTH < count; n++) out.push({ level, index: n, width: tileWidth(size, level === 'entries' ? 0 : level, n) });
  };
  row('entries', size);
  for (let level = 0; Math.floor(size / TILE_WIDTH ** level) > 0; level++) row(level, Math.floor(size / TILE_WIDTH ** level));
  return out;
}

/** The log's files as of its newest checkpoint; null before the first entry. */
export async function staticLogFiles(log: TransparencyLog, store: Store): Promise<StaticLogFiles | null> {
  const checkpoint = await servedCheckpoint(log, store);
  if (!checkpoint) return null;
  const { size } = parseCheckpoint(checkpoint.slice(0, checkpoint.indexOf('\n\n') + 1));
  return {
    key: log.verifierKey() + '\n',
    checkpoint,
    tiles: tilesOfTree(size).map((t) => ({
      rel: `${STATIC_LOG_DIR}/${tilePath(t)}`,
      bytes: async () => (await log.tile(t)) ?? missing(tilePath(t)),
    })),
  };
}

function missing(path: string): never {
  throw new KeyshareError(Codes.INTERNAL, `the transparency log's ${path} cannot be read`);
}
