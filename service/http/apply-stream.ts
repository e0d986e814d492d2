/**
 * A streamed apply (issue 17, item 5): `POST /api/v1/apply` with `Content-Type:
 * application/x-ndjson`. Each line is a part of one apply file, `{ "scopes": [...], "revoked":
 * {...} }`; the parts are joined in order (scopes and each revocation list concatenated) into
 * the one file that TrustService.apply validates whole and applies in one transaction, so the
 * streamed change is as atomic as a JSON one: a bad entry in the last line changes nothing.
 * A file over the admin API's body limit (a 100k-scope file is about 30 MB) goes this way; each
 * line stays under that limit, and the whole stream under MAX_STREAMED_APPLY_BYTES.
 */
import { KeyshareError, Codes } from '../errors.js';
import type { ApplyFile } from '../trust-service.js';

export const NDJSON = 'application/x-ndjson';
/** The whole streamed body: about 8× a 100k-scope file. */
export const MAX_STREAMED_APPLY_BYTES = 256 * 1024 * 1024;

export function isStreamedApply(method: string, path: string, contentType: string | undefined): boolean {
  return method === 'POST' && /\/apply$/.test(path) && (contentType ?? '').split(';')[0]!.trim().toLowerCase() === NDJSON;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Joins one line's part into `file`; anything but an object is refused with its line number. */
function join(file: Record<string, unknown>, part: unknown, line: number): void {
  if (!isObject(part)) throw new KeyshareError(Codes.APPLY_INVALID, `line ${line} of the streamed apply is not a JSON object (each line is { "scopes": [...], "revoked": {...} })`);
  for (const [key, value] of Object.entries(part)) {
    if (key === 'scopes' && Array.isArray(value) && (file.scopes === undefined || Array.isArray(file.scopes))) {
      // push, not a new array per line: a 100k-scope file comes in about 800 lines (bench B4).
      const scopes = (file.scopes ??= []) as unknown[];
      for (const entry of value) scopes.push(entry);
    } else if (key === 'revoked' && isObject(value) && (file.revoked === undefined || isObject(file.revoked))) {
      const revoked = (file.revoked ??= {}) as Record<string, unknown>;
      for (const [kind, list] of Object.entries(value)) {
        revoked[kind] = Array.isArray(list) && (revoked[kind] === undefined || Array.isArray(revoked[kind])) ? [...((revoked[kind] as unknown[] | undefined) ?? []), ...list] : list;
      }
    } else {
      // Anything else is kept as given, for apply to refuse with its path (an unknown field, a list that is not one).
      file[key] = value;
    }
  }
}

const tooLong = (line: number) => new KeyshareError(Codes.BODY_TOO_LARGE, `line ${line} of the streamed apply is over the admin API's body limit, which applies to each line`);

/** Reads an NDJSON body into one apply file, within the per-line and whole-body caps. */
export async function readApplyStream(body: ReadableStream<Uint8Array> | null, maxLineBytes: number): Promise<ApplyFile> {
  const file: Record<string, unknown> = {};
  if (!body) return file as ApplyFile;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let total = 0;
  let line = 0;
  let rest = '';
  const take = (text: string) => {
    line++;
    if (text.length > maxLineBytes) throw tooLong(line);
    if (text.trim() === '') return;
    let part: unknown;
    try {
      part = JSON.parse(text);
    } catch (e) {
      throw new KeyshareError(Codes.APPLY_INVALID, `line ${line} of the streamed apply is not JSON: ${(e as Error).message}`);
    }
    join(file, part, line);
  };
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > MAX_STREAMED_APPLY_BYTES) throw new KeyshareError(Codes.BODY_TOO_LARGE, `a streamed apply is limited to ${MAX_STREAMED_APPLY_BYTES} bytes`);
      let text: string;
      try {
        text = rest + decoder.decode(value, { stream: true });
      } catch {
        throw new KeyshareError(Codes.APPLY_INVALID, `line ${line + 1} of the streamed apply is not UTF-8`);
      }
      const lines = text.split('\n');
      rest = lines.pop()!;
      for (const l of lines) take(l);
      if (rest.length > maxLineBytes) throw tooLong(line + 1);
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw e;
  } finally {
    reader.releaseLock();
  }
  take(rest);
  return file as ApplyFile;
}
