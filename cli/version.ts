/** The CLI's version, as `keyshare --version` prints it (package.json "version"). */
export const VERSION = '0.1.0';
