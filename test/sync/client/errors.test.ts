/**
 * toFetchError: tuf-js errors to stable codes, including the ones tuf-js 5.0.1 wraps in a
 * RuntimeError while loading snapshot and targets (the class survives only as text).
 */
import { LengthOrHashMismatchError, UnsignedMetadataError } from '@tufjs/models/dist/error.js';
import {
  BadVersionError,
  DownloadError,
  DownloadHTTPError,
  DownloadLengthMismatchError,
  EqualVersionError,
  ExpiredMetadataError,
  RuntimeError,
} from 'tuf-js/dist/error.js';
import { describe, expect, it } from 'vitest';
import { KeyshareError } from '../../../service/errors.js';
import { NotCachedError, toFetchError } from '../../../sync/client/index.js';

/** As tuf-js's Updater.loadSnapshot / loadTargets build it. */
const wrapped = (inner: Error) => new RuntimeError(`Unable to load snapshot metadata error ${inner}`);

describe('when tuf-js refuses metadata', () => {
  it.each([
    [new BadVersionError('New timestamp version 3 is less than current version 5'), 'ROLLBACK'],
    [new EqualVersionError('equal'), 'ROLLBACK'],
    [new ExpiredMetadataError('Final timestamp.json is expired'), 'EXPIRED_METADATA'],
    [new UnsignedMetadataError('timestamp was signed by 0/1 keys'), 'BAD_SIGNATURE'],
    [new LengthOrHashMismatchError('Expected hash a but got b'), 'HASH_MISMATCH'],
    [new DownloadLengthMismatchError('Max length reached'), 'HASH_MISMATCH'],
    [new DownloadHTTPError('download failed: HTTP 502', 502), 'DOWNLOAD_FAILED'],
    [new DownloadError('cannot reach http://127.0.0.1:9'), 'DOWNLOAD_FAILED'],
    [new NotCachedError('x is not in the offline cache'), 'NOT_CACHED'],
    [new SyntaxError('Unexpected token'), 'METADATA_INVALID'],
  ])('maps %s to its code', (error, code) => {
    expect(toFetchError(error).code).toBe(code);
  });

  it.each([
    [new ExpiredMetadataError('snapshot.json is expired'), 'EXPIRED_METADATA'],
    [new BadVersionError("Snapshot version doesn't match timestamp"), 'ROLLBACK'],
    [new BadVersionError('Version 2 of bin-3f does not match snapshot version 3'), 'ROLLBACK'],
    [new UnsignedMetadataError('trust was signed by 0/1 keys'), 'BAD_SIGNATURE'],
    [new LengthOrHashMismatchError('Expected length 10 but got 11'), 'HASH_MISMATCH'],
    [new DownloadHTTPError('download failed: HTTP 500 for http://x/tuf/3.snapshot.json', 500), 'DOWNLOAD_FAILED'],
    [new NotCachedError('bin-3f version 4 is not in the offline cache'), 'NOT_CACHED'],
  ])('recovers the code of a wrapped %s', (inner, code) => {
    expect(toFetchError(wrapped(inner)).code).toBe(code);
  });

  it('keeps a KeyshareError as it is', () => {
    const e = new KeyshareError('UNKNOWN_SCOPE', 'no such scope');
    expect(toFetchError(e)).toBe(e);
  });
});
