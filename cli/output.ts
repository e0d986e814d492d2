import { writeSync } from 'node:fs';

/** Printing results: --json prints machine-readable JSON on stdout; otherwise short human lines. */
export function print(json: boolean | undefined, data: unknown, human: () => string | string[]): void {
  if (json) {
    writeStdout(JSON.stringify(data, null, 2) + '\n');
    return;
  }
  const text = human();
  const lines = Array.isArray(text) ? text : [text];
  if (lines.length) writeStdout(lines.join('\n') + '\n');
}

/** Set once stdout would block: what follows goes through process.stdout, in order. */
let streamed = false;
/** Set once the reader closed stdout (EPIPE, `keyshare ... | head`): the rest is not wanted. */
let closed = false;

const isClosedPipe = (e: unknown) => (e as NodeJS.ErrnoException)?.code === 'EPIPE';

/**
 * Writes `text` to stdout with write(2) itself, all of it before returning. process.stdout is a
 * stream whose set-up loads node:net when stdout is a pipe, as it is under a CI job or a script
 * (issue 25: a tenth of what `fetch --offline` adds to Node's own start). A pipe that would block
 * (EAGAIN, a reader that set it non-blocking) takes the rest, and any later output, through
 * process.stdout, which waits for it.
 */
export function writeStdout(text: string): void {
  if (closed) return;
  const bytes = Buffer.from(text);
  let at = 0;
  if (!streamed) {
    try {
      while (at < bytes.length) at += writeSync(1, bytes, at);
      return;
    } catch (e) {
      if (isClosedPipe(e)) return void (closed = true);
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      streamed = true;
      // A reader that leaves early is not a failure of the command (as `head` expects of any tool).
      process.stdout.on('error', (err) => {
        if (!isClosedPipe(err)) throw err;
        closed = true;
      });
    }
  }
  process.stdout.write(bytes.subarray(at));
}

export function publishedNote(r: { published?: { timestampVersion: number } | null }): string {
  return r.published ? ` (published as timestamp version ${r.published.timestampVersion})` : '';
}
