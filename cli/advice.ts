/**
 * What to do next, for the service's refusals whose message says only what is wrong (issue 15:
 * every error says what to do). The service's messages stay as they are (the API's callers are
 * programs); the CLI, whose reader is a person, adds the command that helps.
 */
const ADVICE: Record<string, string> = {
  SCOPE_NOT_FOUND: '`keyshare scope ls` lists the scopes; `keyshare scope add SCOPE` defines one',
  ANCHOR_NOT_FOUND: "`keyshare scope show SCOPE` lists a scope's anchors with their IDs",
};

/** `message`, followed by the advice for `code` when there is one. */
export function withAdvice(code: string, message: string): string {
  const advice = ADVICE[code];
  return advice ? `${message}: ${advice}` : message;
}
