/** Test support for bundles: hand-made tar archives (good and malicious) and an outside TUF client over a directory. */
import { mkdirSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { BaseFetcher, Updater } from 'tuf-js';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { sha256Hex } from '../../../shared/bundle/format.js';
import type { Store } from '../../../service/store/index.js';

export interface RawEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'FIFO';
  data?: Buffer | string;
  linkpath?: string;
  /** Declared size, when it should differ from the data (a lying header). */
  size?: number;
}

/** A tar archive built header by header, so that it can hold what node-tar's Pack would refuse. */
export function rawTar(entries: RawEntry[], options: { endMarker?: boolean } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = typeof e.data === 'string' ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0));
    const h = new Header({
      path: e.path,
      type: e.type ?? 'File',
      size: e.size ?? (e.type === undefined || e.type === 'File' ? data.length : 0),
      mode: 0o644,
      mtime: new Date(0),
      linkpath: e.linkpath,
    });
    h.encode();
    blocks.push(h.block!);
    if (data.length) {
      blocks.push(data);
      const pad = (512 - (data.length % 512)) % 512;
      if (pad) blocks.push(Buffer.alloc(pad));
    }
  }
  if (options.endMarker !== false) blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export const gzip = (b: Buffer) => gzipSync(b);

/**
 * tuf-js as an outside client over a plain directory (an extracted bundle's `tuf/`): its own
 * fetcher, independent of sync/bundle, pinned to a root given out of band.
 */
class DirFetcher extends BaseFetcher {
  constructor(private readonly dir: string) {
    super();
  }
  async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    const path = decodeURIComponent(new URL(url).pathname.replace(/^\/repo\//, ''));
    const file = join(this.dir, path);
    if (path.includes('..') || !existsSync(file) || !statSync(file).isFile()) throw new DownloadHTTPError(`no ${path}`, 404);
    const bytes = readFileSync(file);
    return new ReadableStream({
      start(c) {
        c.enqueue(new Uint8Array(bytes));
        c.close();
      },
    });
  }
}

export async function readTargetOffline(tufDir: string, pinnedRoot: Buffer, work: string, target: string): Promise<Buffer | null> {
  const metadataDir = join(work, 'metadata');
  mkdirSync(metadataDir, { recursive: true });
  if (!existsSync(join(metadataDir, 'root.json'))) writeFileSync(join(metadataDir, 'root.json'), pinnedRoot);
  const updater = new Updater({
    metadataDir,
    metadataBaseUrl: 'file://bundle/repo',
    targetBaseUrl: 'file://bundle/repo/targets',
    targetDir: work,
    fetcher: new DirFetcher(tufDir),
  });
  await updater.refresh();
  const info = await updater.getTargetInfo(target);
  if (!info) return null;
  const file = await updater.downloadTarget(info, join(work, `t-${Math.random().toString(36).slice(2)}`));
  return readFileSync(file);
}

/** The code of a refused call ("accepted" when it resolves): tests assert codes, not messages. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code ?? `not coded: ${(e as Error).message}`;
  }
  return 'accepted';
}

/** Everything a bundle import may change on the importing site, as one string to compare. */
export async function importerState(s: Store, origin: string): Promise<string> {
  const up = await s.getUpstream(origin);
  return JSON.stringify({
    scopes: await s.listScopes(),
    anchors: await s.listAnchors(),
    revocations: await s.listRevocations(),
    upstream: up && { ...up, root: sha256Hex(up.root) },
    mirrorFiles: await s.countUpstreamFiles(origin),
    changeSeq: await s.changeSeq(),
  });
}
