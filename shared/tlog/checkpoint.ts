/**
 * C2SP tlog-checkpoint: the note text of a signed tree head. Pure.
 *
 *   <origin>
 *   <tree size, decimal, no leading zeroes>
 *   <base64 root hash>
 *   [extension lines]
 */
import { HASH_SIZE, type Hash } from './merkle.js';

export interface Checkpoint {
  origin: string;
  size: number;
  root: Hash;
  extensions: string[];
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export function formatCheckpoint(c: Checkpoint): string {
  return [c.origin, String(c.size), Buffer.from(c.root).toString('base64'), ...c.extensions].join('\n') + '\n';
}

export function parseCheckpoint(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.pop() !== '' || lines.length < 3 || lines.some((l) => l === '')) throw new CheckpointError('a checkpoint is at least three non-empty lines, each ending in a newline');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (!/^(?:0|[1-9]\d{0,15})$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) throw new CheckpointError(`checkpoint tree size ${JSON.stringify(sizeText)} is not a decimal number without leading zeroes`);
  const root = Buffer.from(rootText, 'base64');
  if (root.length !== HASH_SIZE || root.toString('base64') !== rootText) throw new CheckpointError('the checkpoint root hash is not 32 base64-encoded bytes');
  return { origin, size: Number(sizeText), root: new Uint8Array(root), extensions };
}
