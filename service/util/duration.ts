/** Durations on the command line and in the API: `90s`, `15m`, `12h`, `30d`, `2w`, `1y`, or a sum like `1d12h`. Pure. */
import { KeyshareError, Codes } from '../errors.js';

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};

/** Parses a duration into milliseconds; throws BAD_REQUEST on anything else (or on zero). */
export function parseDuration(text: string): number {
  const s = String(text).trim();
  if (!/^(\d+[smhdwy])+$/.test(s)) {
    throw new KeyshareError(Codes.BAD_REQUEST, `invalid duration ${JSON.stringify(text)}: use e.g. 30d, 12h, 15m or 1d12h`);
  }
  let ms = 0;
  for (const [, n, unit] of s.matchAll(/(\d+)([smhdwy])/g)) ms += Number(n) * UNIT_MS[unit!]!;
  if (!Number.isSafeInteger(ms) || ms <= 0 || ms > 100 * UNIT_MS.y!) {
    throw new KeyshareError(Codes.BAD_REQUEST, `invalid duration ${JSON.stringify(text)}: it must be more than zero and at most 100y`);
  }
  return ms;
}
