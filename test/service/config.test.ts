/** One validated configuration: flags, then environment, then keyshare.yaml, then defaults. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { durationSeconds, loadConfig, parseSize, SETTINGS } from '../../service/config.js';
import { KeyshareError } from '../../service/errors.js';
import { DEFAULT_EXPIRY } from '../../service/repo/layout.js';
import { cleanupTempDirs, tempDir } from '../support/service.js';

afterAll(() => cleanupTempDirs());

function expectInvalid(f: () => unknown, message: RegExp) {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(KeyshareError);
    expect((e as KeyshareError).code).toBe('CONFIG_INVALID');
    expect((e as KeyshareError).message).toMatch(message);
    return;
  }
  expect.fail('expected CONFIG_INVALID');
}

describe('the configuration', () => {
  it('has the contract defaults with nothing set', () => {
    const cwd = tempDir();
    const c = loadConfig({ flags: {}, env: {}, cwd });
    expect(c).toMatchObject({
      configFile: null,
      data: join(cwd, 'keyshare-data'),
      listen: '127.0.0.1:8080',
      server: 'http://127.0.0.1:8080',
      database: null,
      staticDir: null,
      logLevel: 'info',
      expiry: {},
      maxBodyBytes: 4 * 1024 * 1024,
      shutdownTimeoutMs: 30_000,
      sessionTtlSeconds: 8 * 3600,
      upstreamPollMs: 60_000,
    });
  });

  it('takes flags over environment over keyshare.yaml in the data dir', () => {
    const cwd = tempDir();
    mkdirSync(join(cwd, 'data'));
    writeFileSync(
      join(cwd, 'data', 'keyshare.yaml'),
      ['listen: 0.0.0.0:9000', 'log-level: warn', 'static-dir: ../static', 'expiry:', '  timestamp: 6h', '  targets: 60d', 'max-body: 1MiB', 'upstream-poll-interval: 5m'].join('\n'),
    );
    const env = { KEYSHARE_DATA: 'data', KEYSHARE_LOG_LEVEL: 'debug', KEYSHARE_EXPIRY_TARGETS: '90d' };
    const c = loadConfig({ flags: { listen: '127.0.0.1:7000' }, env, cwd });
    expect(c.configFile).toBe(join(cwd, 'data', 'keyshare.yaml'));
    expect(c.listen).toBe('127.0.0.1:7000'); // flag
    expect(c.logLevel).toBe('debug'); // env
    expect(c.expiry).toEqual({ timestamp: 6 * 3600, targets: 90 * 86_400 }); // file, env; the rest as stored at init
    expect(c.maxBodyBytes).toBe(1024 * 1024); // file
    expect(c.upstreamPollMs).toBe(300_000); // file
    expect(c.staticDir).toBe(join(cwd, 'static')); // relative to the file
    expect(c.data).toBe(join(cwd, 'data'));
  });

  it('reads --config FILE (or KEYSHARE_CONFIG), which may name the data dir', () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'ks.yaml'), 'data: ./somewhere\ndatabase: postgres://ks@db/keyshare\n');
    const c = loadConfig({ flags: { config: 'ks.yaml' }, env: {}, cwd });
    expect(c.data).toBe(join(cwd, 'somewhere'));
    expect(c.database).toBe('postgres://ks@db/keyshare');
    expect(loadConfig({ flags: {}, env: { KEYSHARE_CONFIG: join(cwd, 'ks.yaml') }, cwd }).configFile).toBe(join(cwd, 'ks.yaml'));
  });

  it('refuses every invalid setting, naming it and where it came from', () => {
    const cwd = tempDir();
    expectInvalid(() => loadConfig({ flags: { listen: 'localhost' }, env: {}, cwd }), /^listen \(from --listen\): must be HOST:PORT/);
    expectInvalid(() => loadConfig({ flags: { listen: '127.0.0.1:70000' }, env: {}, cwd }), /^listen/);
    expectInvalid(() => loadConfig({ flags: {}, env: { KEYSHARE_LOG_LEVEL: 'chatty' }, cwd }), /^log-level \(from KEYSHARE_LOG_LEVEL\)/);
    expectInvalid(() => loadConfig({ flags: { expiryTimestamp: '10' }, env: {}, cwd }), /^expiry\.timestamp .*between 60s/);
    expectInvalid(() => loadConfig({ flags: { expiryTimestamp: '8d' }, env: {}, cwd }), /^expiry\.timestamp .*must not be longer than expiry\.snapshot/);
    expectInvalid(() => loadConfig({ flags: { database: 'mysql://x' }, env: {}, cwd }), /^database .*postgres/);
    expectInvalid(() => loadConfig({ flags: { maxBody: '12 parsecs' }, env: {}, cwd }), /^max-body .*not a size/);
    expectInvalid(() => loadConfig({ flags: { sessionTtl: '1x' }, env: {}, cwd }), /^session-ttl .*not a duration/);
    expectInvalid(() => loadConfig({ flags: { upstreamPollInterval: '0s' }, env: {}, cwd }), /^upstream-poll-interval .*between 1s and 86400s/);
    expectInvalid(() => loadConfig({ flags: { config: 'missing.yaml' }, env: {}, cwd }), /does not exist/);
  });

  it('refuses a keyshare.yaml that is not YAML, names an unknown setting, or holds a token', () => {
    const cwd = tempDir();
    const file = join(cwd, 'keyshare.yaml');
    const load = () => loadConfig({ flags: { config: file }, env: {}, cwd });
    writeFileSync(file, 'listen: [1, 2');
    expectInvalid(load, /not valid YAML/);
    writeFileSync(file, '- a list');
    expectInvalid(load, /must be a YAML mapping/);
    writeFileSync(file, 'lissten: 127.0.0.1:1\n');
    expectInvalid(load, /unknown setting "lissten"/);
    writeFileSync(file, 'expiry:\n  forever: 1y\n');
    expectInvalid(load, /unknown setting "expiry\.forever"/);
    writeFileSync(file, 'token: ks_000000000000_secret\n');
    expectInvalid(load, /do not put tokens in the configuration file/);
  });

  it('reads --sigstore-scope from the flag, KEYSHARE_SIGSTORE_SCOPE or keyshare.yaml (issue 19), and refuses an invalid scope', () => {
    const cwd = tempDir();
    const data = join(cwd, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'keyshare.yaml'), 'sigstore-scope: registry.acme.io\n');
    expect(loadConfig({ flags: {}, env: {}, cwd }).sigstoreScope).toBeNull();
    expect(loadConfig({ flags: { data }, env: {}, cwd }).sigstoreScope).toBe('registry.acme.io');
    expect(loadConfig({ flags: { data }, env: { KEYSHARE_SIGSTORE_SCOPE: '*.acme.io' }, cwd }).sigstoreScope).toBe('*.acme.io');
    expect(loadConfig({ flags: { data, sigstoreScope: '*' }, env: { KEYSHARE_SIGSTORE_SCOPE: '*.acme.io' }, cwd }).sigstoreScope).toBe('*');
    expectInvalid(() => loadConfig({ flags: { sigstoreScope: 'Registry.ACME.io' }, env: {}, cwd }), /^sigstore-scope \(from --sigstore-scope\): .*lower case/);
  });

  it('reads the client registry settings (issue 21) from flags, environment or keyshare.yaml, and refuses bad values', () => {
    const cwd = tempDir();
    const data = join(cwd, 'data');
    mkdirSync(data);
    expect(loadConfig({ flags: {}, env: {}, cwd }).clients).toEqual({ cap: 10_000, ttlMs: 30 * 86_400_000 });
    writeFileSync(join(data, 'keyshare.yaml'), 'clients:\n  cap: 500\n  expiry: 2d\n');
    expect(loadConfig({ flags: { data }, env: {}, cwd }).clients).toEqual({ cap: 500, ttlMs: 2 * 86_400_000 });
    expect(loadConfig({ flags: { data }, env: { KEYSHARE_CLIENTS_CAP: '40', KEYSHARE_CLIENTS_EXPIRY: '90m' }, cwd }).clients).toEqual({ cap: 40, ttlMs: 90 * 60_000 });
    expect(loadConfig({ flags: { data, clientsCap: '7', clientsExpiry: '1h' }, env: { KEYSHARE_CLIENTS_CAP: '40' }, cwd }).clients).toEqual({ cap: 7, ttlMs: 3600_000 });
    expectInvalid(() => loadConfig({ flags: { clientsCap: '0' }, env: {}, cwd }), /^clients\.cap \(from --clients-cap\): must be a whole number/);
    expectInvalid(() => loadConfig({ flags: {}, env: { KEYSHARE_CLIENTS_CAP: '1e3' }, cwd }), /^clients\.cap \(from KEYSHARE_CLIENTS_CAP\)/);
    expectInvalid(() => loadConfig({ flags: { clientsExpiry: '10s' }, env: {}, cwd }), /^clients\.expiry \(from --clients-expiry\): must be between 60s/);
  });

  it('reads --crl-validity (issue 18) from the flag, KEYSHARE_CRL_VALIDITY or keyshare.yaml, default 24h, and refuses less than 10 minutes', () => {
    const cwd = tempDir();
    const data = join(cwd, 'data');
    mkdirSync(data);
    expect(loadConfig({ flags: {}, env: {}, cwd }).crlValidityMs).toBe(24 * 3600_000);
    writeFileSync(join(data, 'keyshare.yaml'), 'crl-validity: 2d\n');
    expect(loadConfig({ flags: { data }, env: {}, cwd }).crlValidityMs).toBe(2 * 86_400_000);
    expect(loadConfig({ flags: { data }, env: { KEYSHARE_CRL_VALIDITY: '6h' }, cwd }).crlValidityMs).toBe(6 * 3600_000);
    expect(loadConfig({ flags: { data, crlValidity: '30m' }, env: { KEYSHARE_CRL_VALIDITY: '6h' }, cwd }).crlValidityMs).toBe(30 * 60_000);
    expectInvalid(() => loadConfig({ flags: { crlValidity: '5m' }, env: {}, cwd }), /^crl-validity \(from --crl-validity\): must be between 600s/);
  });

  it('reads durations and sizes', () => {
    expect(durationSeconds('90s')).toBe(90);
    expect(durationSeconds('1h30m')).toBe(5400);
    expect(durationSeconds('2w')).toBe(14 * 86_400);
    expect(durationSeconds('45')).toBe(45);
    expect(() => durationSeconds('1 day')).toThrow();
    expect(parseSize('512KiB')).toBe(512 * 1024);
    expect(parseSize('1MB')).toBe(1_000_000);
    expect(DEFAULT_EXPIRY.timestamp).toBe(86_400);
  });

  it('documents every setting in the README settings table', () => {
    const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8');
    for (const s of SETTINGS) {
      const row = readme.split('\n').find((l) => l.startsWith('|') && l.includes(`\`${s.flag}\``));
      expect(row, s.flag).toBeDefined();
      expect(row, s.flag).toContain(`\`${s.env}\``);
    }
    expect(readme).toContain('keyshare.yaml');
  });
});
