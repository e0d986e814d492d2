/**
 * Structured JSON logs (pino). Secrets never reach a log line: pino redacts the fields that
 * carry credentials, and every finished line is scrubbed once more for anything shaped like a
 * keyshare token, a bearer credential or a session cookie, wherever it hides (an error message,
 * a URL, a nested object). STYLE.md "Security habits".
 */
import { pino, stdSerializers, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

import type { LogLevel } from './settings.js';

export { LOG_LEVELS, type LogLevel } from './settings.js';
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

/** Fields that carry credentials, at the top level or one level down (pino redact paths). */
export const REDACT_PATHS = [
  'authorization',
  'cookie',
  'token',
  'secret',
  'password',
  'session',
  '*.authorization',
  '*.cookie',
  '*.token',
  '*.secret',
  '*.password',
  '*.session',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

/** keyshare tokens (`ks_<id>_<secret>`, service/auth/tokens.ts), bearer credentials and the console's cookie. */
const SECRET_PATTERNS: [RegExp, string][] = [
  [/ks_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}/g, 'ks_[REDACTED]'],
  [/(bearer\s+)[^\s"',;]+/gi, '$1[REDACTED]'],
  [/(ks_session=)[^\s"',;]+/g, '$1[REDACTED]'],
];

/** Replaces anything that looks like a credential in a finished log line. */
export function scrubSecrets(line: string): string {
  let out = line;
  for (const [re, replacement] of SECRET_PATTERNS) out = out.replace(re, replacement);
  return out;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go: stderr by default; tests pass a stream that collects them. */
  destination?: DestinationStream;
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? DEFAULT_LOG_LEVEL,
      base: { service: 'keyshare', ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: stdSerializers.err },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      hooks: { streamWrite: scrubSecrets },
    },
    options.destination ?? pino.destination({ dest: 2, sync: true }),
  );
}

/** A logger that writes nothing (the default for apps built in tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
