/**
 * Ends a command line with its exit code (CONTRACT.md "CLI"): at once on failure, else when the
 * event loop is empty (output flushed). Only cli/ calls process.exit (STYLE.md).
 */
export function exitWith(code: number): void {
  if (code !== 0) process.exit(code);
  process.exitCode = 0;
}
