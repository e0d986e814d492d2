import { KeyshareError, Codes } from '../errors.js';

/** zod validation failures become BAD_REQUEST with a readable message (no internals). */
export function validationHook(result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }): void {
  if (!result.success) {
    const issues = result.error?.issues ?? [];
    const message = issues.map((i) => `${i.path.map(String).join('.') || 'body'}: ${i.message}`).join('; ') || 'invalid request';
    throw new KeyshareError(Codes.BAD_REQUEST, message);
  }
}
