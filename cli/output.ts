/** Printing results: --json prints machine-readable JSON on stdout; otherwise short human lines. */
export function print(json: boolean | undefined, data: unknown, human: () => string | string[]): void {
  if (json) {
    process.stdout.write(JSON.stringify(data, null, 2) + '\n');
    return;
  }
  const text = human();
  const lines = Array.isArray(text) ? text : [text];
  if (lines.length) process.stdout.write(lines.join('\n') + '\n');
}

export function publishedNote(r: { published?: { timestampVersion: number } | null }): string {
  return r.published ? ` (published as timestamp version ${r.published.timestampVersion})` : '';
}
