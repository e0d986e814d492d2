/**
 * How a command's failure becomes an exit code (CONTRACT.md "CLI"): 1 with `keyshare: CODE:
 * message`; 2 with `keyshare: message` on a usage error. cli/run.ts adds commander's own
 * refusals; a command line read without commander (cli/args.ts) runs its action through
 * `runAction` (issue 25: no commander loaded).
 */
import { isKeyshareError } from '../service/errors.js';
import { CliCodes, fileSystemError } from './errors.js';

export function failureCode(caught: unknown): number {
  const e = fileSystemError(caught) ?? caught;
  if (isKeyshareError(e)) {
    if (e.code === CliCodes.USAGE) {
      process.stderr.write(`keyshare: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`keyshare: ${e.code}: ${e.message.replace(/\s*\n\s*/g, ' ')}\n`);
    return 1;
  }
  process.stderr.write(`keyshare: INTERNAL: ${(e as Error)?.message ?? String(e)}\n`);
  return 1;
}

/** Runs a command's action: 0 once it is done, else its failure's code. */
export async function runAction(action: () => Promise<void>): Promise<number> {
  try {
    await action();
    return 0;
  } catch (caught) {
    return failureCode(caught);
  }
}
