/** Private files (0600) and directories (0700): shared/private-files.ts, which the client uses too. */
export * from '../../shared/private-files.js';
