import { Command } from 'commander';
import { resolve } from 'node:path';
import { KeyshareError, Codes } from '../../service/errors.js';
import { parseDuration } from '../../service/util/duration.js';
import type { ExportProgress } from '../../service/federation/bundle/export.js';
import type { RegistryOptions } from '../../sync/oci/client.js';
import { readInputFile } from '../files.js';
import { print } from '../output.js';
import { DATABASE_FLAG, DATABASE_HELP, storeSettings } from '../settings.js';
import { progress } from '../progress.js';

export function bundleCommand(): Command {
  const cmd = new Command('bundle').description('offline bundles for air-gapped sites: export this repository to one file, import one from another service');

  cmd
    .command('export')
    .description("write this service's trust as one tar file: bundle.json and a complete TUF repository (tuf/)")
    .requiredOption('--out <file>', 'the bundle to write (.tar, or .tar.gz / .tgz for gzip)')
    .option('--scopes <pattern...>', 'only the trust files of these scopes (and what they contain); all metadata still travels')
    .option('--valid-for <duration>', 'how long the bundle stays verifiable (its timestamp, snapshot and targets roles)', '30d')
    .option('--since <bundle-or-version>', 'incremental: only what changed since an earlier bundle (its file, or its timestamp version), for the scopes that bundle held (other --scopes: BUNDLE_SCOPE_MISMATCH)')
    .option('--gzip', 'gzip the tar (implied by a .gz or .tgz name)')
    .option('--data <dir>', 'data dir (env KEYSHARE_DATA, default ./keyshare-data)')
    .option(DATABASE_FLAG, DATABASE_HELP)
    .option('--json', 'print machine-readable JSON')
    .addHelpText(
      'after',
      [
        '',
        'Works on the data dir whether or not the service runs; it needs the online keys in <data>/keys.',
        'The export publishes a new repository version (its versions stay above the bundle\'s).',
        '',
        'Examples:',
        '  keyshare bundle export --out trust-2026-11.tar.gz',
        '  keyshare bundle export --out acme.tar --scopes "*.acme.io" --valid-for 90d',
        '  keyshare bundle export --out week-48.tar.gz --since trust-2026-11.tar.gz      # incremental',
      ].join('\n'),
    )
    .action(async (o) => {
      const validForSeconds = Math.floor(parseDuration(o.validFor) / 1000);
      // A bar on stderr, only when it is a terminal and without --json (cli/progress.ts).
      const bar = progress({ label: 'exporting', total: 0, json: o.json });
      // Loaded on use (with the store and tar): other commands start without them.
      const { exportBundle } = await import('../../service/federation/bundle/export.js');
      const r = await exportBundle({
        ...(await storeSettings(o)),
        out: resolve(o.out),
        scopes: o.scopes,
        since: o.since === undefined ? undefined : /^\d+$/.test(o.since) ? { timestamp: Number(o.since) } : { bundle: resolve(o.since) },
        validForSeconds,
        gzip: o.gzip,
        onProgress: (p: ExportProgress) => bar.update(p.files, p.totalFiles, `${(p.bytes / 1e6).toFixed(1)} MB`),
      }).finally(() => bar.done());
      for (const w of r.warnings) process.stderr.write(`keyshare: warning: ${w}\n`);
      print(o.json, r, () => [
        `wrote ${r.out} (${r.files} files, ${r.bytes} bytes)`,
        `  origin:   ${r.origin}`,
        `  scopes:   ${r.scopes}`,
        `  versions: timestamp ${r.versions.timestamp}, snapshot ${r.versions.snapshot}, root ${r.versions.root}`,
        `  valid until ${r.expires}`,
      ]);
    });

  const importCmd = cmd
    .command('import <file>')
    .description("verify a bundle (a file, or oci://host/repository[:tag] in a registry) against the origin's pinned root, then federate its trust into this service")
    .requiredOption('--root <file>', "the origin's root.json, obtained out of band (never from the bundle)")
    .option('--data <dir>', 'data dir (env KEYSHARE_DATA, default ./keyshare-data)')
    .option(DATABASE_FLAG, DATABASE_HELP)
    .option('--json', 'print machine-readable JSON')
    .addHelpText(
      'after',
      [
        '',
        'Nothing changes unless the whole bundle verifies (TUF client workflow against --root, bundle.json digests,',
        'newer than the last bundle from the same origin). Importing the same bundle twice changes nothing.',
        'Works on the data dir whether or not the service runs; a running service publishes within seconds.',
        '',
        'With oci://, the artifact is pulled first (manifest and layer digests checked, size-capped): --username,',
        '--password-stdin, --ca and --insecure as for `bundle push`.',
        '',
        'Examples:',
        '  keyshare bundle import trust-2026-11.tar.gz --root central-root.json',
        '  keyshare bundle import oci://mirror.internal/keyshare/trust:latest --root central-root.json',
      ].join('\n'),
    )
    .action(async (file: string, o) => {
      const root = readInputFile(o.root);
      if (root.length > 1024 * 1024) throw new KeyshareError(Codes.BAD_REQUEST, `${o.root} is too large for a root.json`);
      const settings = await storeSettings(o);
      const { bundles } = await import('../../service/composition.js');
      const r = file.startsWith('oci://')
        ? await bundles.importFromRegistry({ ref: file, registry: await registryOptions(o), root, ...settings })
        : await bundles.importBundle({ file: resolve(file), root, ...settings });
      // A refused CRL does not fail the import (the rest landed): a warning, and crlErrors in --json.
      for (const e of r.crlErrors) process.stderr.write(`keyshare: warning: ${e.code}: the CRL of ${e.issuer} was not imported: ${e.message}\n`);
      print(o.json, r, () => {
        if (!r.changed) return `already imported: origin ${r.origin}, timestamp version ${r.versions.timestamp}; nothing changed`;
        const lines = [
          `imported origin ${r.origin} (timestamp version ${r.versions.timestamp}, created ${r.createdAt}, valid until ${r.expires})`,
          `  scopes: ${r.scopes.created.length} created, ${r.scopes.updated.length} updated, ${r.scopes.removed.length} removed, ${r.scopes.unchanged} unchanged`,
          `  anchors: ${r.anchors.added} added, ${r.anchors.updated} updated, ${r.anchors.removed} removed; ${r.revocationsAdded} revocations added`,
          `  CRLs: ${r.crlsUpdated.length} updated${r.crlErrors.length ? `, ${r.crlErrors.length} refused` : ''}`,
          `  mirror: ${r.mirror}`,
        ];
        if (r.scopes.notInBundle.length) lines.push(`  ${r.scopes.notInBundle.length} scopes of this origin were not in the bundle and keep their earlier trust`);
        return lines;
      });
    });

  registryFlags(importCmd);

  registryFlags(
    cmd
      .command('push <ref>')
      .description('export this service\'s trust as an OCI artifact and push it to a registry, tagged <ref>\'s tag and the timestamp version')
      .option('--scopes <pattern...>', 'only the trust files of these scopes (as for `bundle export`)')
      .option('--valid-for <duration>', 'how long the bundle stays verifiable', '30d')
      .option('--since <bundle-or-version>', 'incremental: only what changed since an earlier bundle (its file, or its timestamp version)')
      .option('--data <dir>', 'data dir (env KEYSHARE_DATA, default ./keyshare-data)')
      .option(DATABASE_FLAG, DATABASE_HELP)
      .option('--json', 'print machine-readable JSON'),
  )
    .addHelpText(
      'after',
      [
        '',
        'The artifact: artifactType application/vnd.keyshare.bundle.v1, the empty config, one layer',
        'application/vnd.keyshare.bundle.v1.tar+gzip (the bundle), annotations with the origin, the timestamp',
        'version, the creation time and (incremental) the version it continues. Mirror it with skopeo copy.',
        'Credentials: --username with --password-stdin, else containers-auth.json (REGISTRY_AUTH_FILE,',
        '~/.config/containers/auth.json) or ~/.docker/config.json, credential helpers (credHelpers, credsStore)',
        'included; anonymous otherwise. The version tag is N, or N-since-V for an incremental bundle.',
        '',
        'Examples:',
        '  keyshare bundle push oci://registry.acme.io/keyshare/trust:latest',
        '  echo "$TOKEN" | keyshare bundle push oci://registry.acme.io/keyshare/trust:weekly --since 41 --username ci --password-stdin',
      ].join('\n'),
    )
    .action(async (ref: string, o) => {
      const { bundles } = await import('../../service/composition.js');
      const r = await bundles.pushBundle({
        ...(await storeSettings(o)),
        ref,
        registry: await registryOptions(o),
        scopes: o.scopes,
        since: o.since === undefined ? undefined : /^\d+$/.test(o.since) ? { timestamp: Number(o.since) } : { bundle: resolve(o.since) },
        validForSeconds: Math.floor(parseDuration(o.validFor) / 1000),
      });
      for (const w of r.warnings) process.stderr.write(`keyshare: warning: ${w}\n`);
      print(o.json, r, () => [
        `pushed ${r.ref} (tags ${r.tags.join(', ')}; ${r.layer.size} bytes)`,
        `  digest:   ${r.digest}`,
        `  origin:   ${r.origin}`,
        `  versions: timestamp ${r.versions.timestamp}${r.since !== null ? ` (continues ${r.since})` : ''}, snapshot ${r.versions.snapshot}, root ${r.versions.root}`,
        `  valid until ${r.expires}`,
      ]);
    });

  registryFlags(
    cmd
      .command('pull <ref>')
      .description('pull a bundle artifact from a registry into a file (manifest and layer digests checked); import it with `bundle import`')
      .requiredOption('--out <file>', 'the bundle file to write (a gzip tar)')
      .option('--json', 'print machine-readable JSON'),
  )
    .addHelpText('after', ['', 'Example:', '  keyshare bundle pull oci://mirror.internal/keyshare/trust:42 --out trust-42.tar.gz'].join('\n'))
    .action(async (ref: string, o) => {
      const { bundles } = await import('../../service/composition.js');
      const r = await bundles.pullBundle({ ref, out: resolve(o.out), registry: await registryOptions(o) });
      print(o.json, { ...r, out: resolve(o.out) }, () => [
        `pulled ${r.ref} to ${resolve(o.out)} (${r.layer.size} bytes)`,
        `  digest:   ${r.digest}`,
        `  origin:   ${r.origin ?? '-'}, timestamp version ${r.timestampVersion ?? '-'}${r.since !== null ? ` (continues ${r.since})` : ''}`,
      ]);
    });

  return cmd;
}

/** The registry flags of push, pull and import oci://. */
function registryFlags(c: Command): Command {
  return c
    .option('--username <user>', 'registry user (with --password-stdin)')
    .option('--password-stdin', 'read the registry password or token from stdin')
    .option('--ca <file>', "PEM CA certificate(s) for the registry's TLS certificate")
    .option('--insecure', 'plain HTTP, for a registry on loopback only (tests)');
}

async function registryOptions(o: { username?: string; passwordStdin?: boolean; ca?: string; insecure?: boolean }): Promise<RegistryOptions> {
  if ((o.username === undefined) !== (o.passwordStdin === undefined)) throw new KeyshareError(Codes.BAD_REQUEST, '--username and --password-stdin go together');
  let credentials: RegistryOptions['credentials'];
  if (o.username !== undefined) {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of process.stdin) {
      n += (c as Buffer).length;
      if (n > 64 * 1024) throw new KeyshareError(Codes.BAD_REQUEST, '--password-stdin read over 64 KiB');
      chunks.push(c as Buffer);
    }
    const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
    if (!password) throw new KeyshareError(Codes.BAD_REQUEST, '--password-stdin read an empty password');
    credentials = { username: o.username, password };
  }
  const ca = o.ca === undefined ? undefined : readInputFile(o.ca);
  const caProblem = ca ? (await import('../../sync/oci/tls.js')).registryCaProblem(ca) : null;
  if (caProblem) throw new KeyshareError(Codes.BAD_REQUEST, `--ca ${o.ca} is not a CA certificate file: ${caProblem}`);
  return { credentials, ca, insecure: o.insecure === true };
}
