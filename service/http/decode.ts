/** Percent-decoding of URL paths from clients: malformed escapes are the client's error (issue 16, finding 5). */
import { KeyshareError, Codes } from '../errors.js';

/** decodeURIComponent that answers 400 BAD_REQUEST, never a URIError (a 500), on a malformed escape. */
export function decodePathComponent(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new KeyshareError(Codes.BAD_REQUEST, 'the URL path holds a malformed percent-encoding');
  }
}
