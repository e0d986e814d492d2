/**
 * `keyshare upstream add|ls|show|rm`, `keyshare sync [NAME]` and `keyshare anchor block|unblock`
 * (issue 5: chaining services). Thin: they call the admin API.
 */
import { Command, Option } from 'commander';
import { AdminClient, scopePath } from '../client.js';
import { readInputFile } from '../files.js';
import { print, publishedNote } from '../output.js';
import { adminOptions } from './admin-options.js';
import { dryRunLines, withDryRun } from '../plan-output.js';
import type { ScopePlan } from '../../service/domain/plan.js';
import { KeyshareError } from '../../service/errors.js';
import type { SyncOutcome, UpstreamView } from '../../service/federation.js';

const describe = (u: UpstreamView) => [
  `${u.name}\t${u.mode}\t${u.url}${u.authenticated ? '\t(with a token)' : ''}`,
  `  version ${u.version ?? '-'}, last success ${u.lastSuccessAt ?? 'never'}${u.kind === 'bundle' ? ' (bundle origin: imported, never polled)' : ''}`,
  ...(u.scopes ? [`  scopes ${u.scopes.join(' ')}`] : []),
  ...(u.mirror ? [`  mirrored at ${u.mirror}`] : []),
  // Issue 24 row 3: imported trust past its origin's expiry is flagged.
  ...(u.expiry === 'expired' ? [`  EXPIRED at ${u.expires}: still republished until --origin-grace runs out; import a newer bundle or fix the sync`] : []),
  ...(u.expiry === 'withdrawn' ? [`  WITHDRAWN: expired at ${u.expires} and past --origin-grace; its scopes are no longer republished`] : []),
  ...(u.lastError ? [`  last error: ${u.lastError}`] : []),
];

const outcomeLine = (o: SyncOutcome) => {
  if (!o.ok) return `${o.name}: failed: ${o.error?.code}: ${o.error?.message}`;
  const parts = [`${o.name}: timestamp version ${o.timestampVersion}`, o.changed ? 'changed' : 'no change'];
  if (o.scopes) parts.push(`scopes +${o.scopes.created.length} ~${o.scopes.updated.length} -${o.scopes.removed.length}`);
  if (o.revocationsAdded) parts.push(`${o.revocationsAdded} revocations added`);
  if (o.crlsUpdated?.length) parts.push(`${o.crlsUpdated.length} CRLs updated`);
  if (o.crlErrors?.length) parts.push(`CRLs refused: ${o.crlErrors.map((e) => `${e.issuer} (${e.code})`).join(' ')}`);
  if (o.mirrorFiles !== undefined) parts.push(`${o.mirrorFiles} files mirrored`);
  if (o.scopes?.conflicts.length) parts.push(`left out (defined locally): ${o.scopes.conflicts.join(' ')}`);
  return parts.join(', ');
};

export function upstreamCommand(): Command {
  const cmd = new Command('upstream').description('follow other keyshare services: federate their scopes, or mirror their repository').addHelpText(
    'after',
    [
      '',
      'Modes:',
      '  federate  (default) the upstream\'s scopes (those under --scopes) become scopes here, marked with their',
      '            source and republished under this service\'s root. Locally you may add anchors to them,',
      '            block an upstream anchor (keyshare anchor block), and revoke; a local revocation always wins.',
      '            Two upstreams defining one scope are merged: the union of their anchors, each with its source.',
      '  mirror    the upstream repository is served byte for byte under /mirrors/NAME/tuf/, for clients pinned',
      '            to the upstream\'s root.',
      'Upstreams are polled every 60 s (with jitter) and followed through their change feed (/tuf/feed), so a',
      'revocation upstream is published here within seconds. A failing upstream changes nothing here: the last',
      'good state stays, and upstream ls shows lastError.',
    ].join('\n'),
  );
  adminOptions(
    cmd
      .command('add <name>')
      .description("follow a keyshare service, pinned to its root.json (got out of band); syncs it once")
      .requiredOption('--url <url>', 'the upstream service, e.g. https://keyshare.hq.acme.io, or a bundle tag in a registry, oci://host/repository:tag (polled by HEAD, each new bundle imported)')
      .requiredOption('--root <file>', "the upstream's root.json")
      .addOption(new Option('--mode <mode>', 'federate its scopes, or mirror its repository').choices(['federate', 'mirror']).default('federate'))
      .option('--scopes <pattern...>', 'federate only these scopes and everything under them (default: everything)')
      .option('--token-file <file>', "a token of the upstream (e.g. a reader token there), sent to its feed and repository only, so that its feed's reserved slots serve this follower; stored here, never shown")
      .option('--ca <file>', "oci:// only: PEM CA certificate(s) for the registry's TLS certificate, kept with the upstream")
      .option('--insecure', 'oci:// only: plain HTTP, for a registry on loopback only (tests)')
      .option('--report-token-file <file>', "a client token of the upstream (keyshare token create --role client, run there): after each sync this service reports its own clients' rollout, summarised, so that the upstream's clients ls and rollout count them")
      .option('--dry-run', 'read the upstream once and print the plan per scope (scopes, anchors and revocations it would bring or remove); change nothing')
      .addHelpText(
        'after',
        [
          '',
          'Examples:',
          '  keyshare upstream add hq --url https://keyshare.hq.acme.io --root hq-root.json --scopes registry.acme.io',
          '  keyshare upstream add hq --url https://keyshare.hq.acme.io --root hq-root.json --dry-run',
          '  keyshare upstream add vendor --url https://trust.vendor.example --root vendor-root.json --mode mirror',
          '  keyshare upstream add hq --url https://keyshare.hq.acme.io --root hq-root.json --token-file hq-reader.token',
          '  keyshare upstream add hq-mirror --url oci://mirror.internal/keyshare/trust:latest --root hq-root.json --ca mirror-ca.pem',
        ].join('\n'),
      ),
  ).action(async (name: string, o) => {
    const root = readInputFile(o.root).toString('utf8');
    const token = o.tokenFile === undefined ? null : readInputFile(o.tokenFile).toString('utf8');
    const r = await AdminClient.from(o).call<{ upstream: UpstreamView; sync: SyncOutcome; plan?: ScopePlan[] }>('POST', withDryRun('/upstreams', o.dryRun), {
      name,
      url: o.url,
      root,
      mode: o.mode,
      scopes: o.scopes ?? null,
      token,
      reportToken: o.reportTokenFile ? readInputFile(o.reportTokenFile).toString('utf8').trim() : null,
      ...(o.ca !== undefined ? { ca: readInputFile(o.ca).toString('utf8') } : {}),
      ...(o.insecure ? { insecure: true } : {}),
    });
    const added = `${r.upstream.mode}${r.upstream.authenticated ? ', with a token' : ''}`;
    print(o.json, r, () => (r.plan ? [`upstream ${name} (${added}) at timestamp version ${r.sync.timestampVersion}`, ...dryRunLines(r.plan)] : [`added upstream ${name} (${added})`, `first sync: ${outcomeLine(r.sync)}`]));
  });
  adminOptions(cmd.command('ls').description('list upstreams with their sync state (--json: name, url, mode, version, lastSuccessAt, lastError ...)')).action(async (o) => {
    const r = await AdminClient.from(o).call<{ upstreams: UpstreamView[] }>('GET', '/upstreams');
    print(o.json, r, () => (r.upstreams.length ? r.upstreams.flatMap(describe) : ['no upstreams']));
  });
  adminOptions(cmd.command('show <name>').description('one upstream with its sync state')).action(async (name: string, o) => {
    const r = await AdminClient.from(o).call<{ upstream: UpstreamView }>('GET', `/upstreams/${encodeURIComponent(name)}`);
    print(o.json, r.upstream, () => [
      ...describe(r.upstream),
      ...(r.upstream.origin ? [`  origin ${r.upstream.origin}`] : []),
      ...(r.upstream.federatedScopes !== null ? [`  ${r.upstream.federatedScopes} scopes federated`] : []),
      ...(r.upstream.conflicts.length ? [`  left out (defined locally): ${r.upstream.conflicts.join(' ')}`] : []),
      ...(r.upstream.expires ? [`  its timestamp expires ${r.upstream.expires}`] : []),
    ]);
  });
  adminOptions(
    cmd
      .command('rm <name>')
      .description('stop following an upstream: its mirror, and the federated scopes only it defines, are removed')
      .option('--dry-run', 'print the plan per scope (the federated scopes, anchors and revocations that would go) and change nothing'),
  ).action(async (name: string, o) => {
    const r = await AdminClient.from(o).call<{ removed: string; scopesRemoved: string[]; plan?: ScopePlan[] }>('DELETE', withDryRun(`/upstreams/${encodeURIComponent(name)}`, o.dryRun));
    print(o.json, r, () => (r.plan ? dryRunLines(r.plan) : `removed upstream ${name}${r.scopesRemoved.length ? `, and ${r.scopesRemoved.length} federated scopes` : ''}`));
  });
  return cmd;
}

export function syncCommand(): Command {
  return adminOptions(
    new Command('sync')
      .argument('[name]', 'the upstream to sync (default: every online upstream)')
      .description('sync upstreams now, rather than at the next poll; exits 1 if a sync failed')
      .option('--dry-run', 'read the upstreams now and print the plan per scope (what the sync would bring or remove); change nothing')
      .addHelpText('after', '\nExamples:\n  keyshare sync\n  keyshare sync hq --json\n  keyshare sync hq --dry-run'),
  ).action(async (name: string | undefined, o) => {
    const path = name === undefined ? '/sync' : `/upstreams/${encodeURIComponent(name)}/sync`;
    const r = await AdminClient.from(o).call<{ results: SyncOutcome[]; plan?: ScopePlan[] }>('POST', withDryRun(path, o.dryRun));
    print(o.json, r, () => (r.plan ? [...r.results.map(outcomeLine), ...dryRunLines(r.plan)] : r.results.length ? r.results.map(outcomeLine) : ['no upstreams to sync']));
    const failed = r.results.find((x) => !x.ok);
    if (failed) {
      throw new KeyshareError(failed.error!.code, `sync of ${failed.name} failed: ${failed.error!.message}`);
    }
  });
}

/** `anchor block SCOPE ID` and `anchor unblock SCOPE ID`, added to the `anchor` command. */
export function addBlockCommands(anchor: Command): void {
  adminOptions(
    anchor
      .command('block <scope> <id>')
      .description("hide an (upstream) anchor at a scope: it leaves this scope's trust, and that of scopes inheriting from it, until unblocked")
      .option('--dry-run', 'print the plan per scope (every scope that stops trusting the anchor) and change nothing')
      .addHelpText('after', '\nExamples:\n  keyshare anchor block registry.acme.io sha256:51df999e985db5e71e4be9474f03ba5d4d9f9ba56cd7acb278cdb830309c96c0'),
  ).action(async (scope: string, id: string, o) => {
    const r = await AdminClient.from(o).call<{ added: boolean; published: { timestampVersion: number } | null; plan?: ScopePlan[] }>('POST', withDryRun(`${scopePath(scope)}/blocks`, o.dryRun), { id });
    print(o.json, r, () => (r.plan ? dryRunLines(r.plan) : r.added ? `blocked anchor ${id} at ${scope}${publishedNote(r)}` : `anchor ${id} was already blocked at ${scope}`));
  });
  adminOptions(
    anchor
      .command('blocks [scope]')
      .description('list the anchors blocked at a scope, or at every scope')
      .addHelpText('after', '\nExamples:\n  keyshare anchor blocks\n  keyshare anchor blocks registry.acme.io'),
  ).action(async (scope: string | undefined, o) => {
    const r = await AdminClient.from(o).call<{ blocks: { scope: string; anchorId: string; createdAt: string }[] }>('GET', scope === undefined ? '/blocks' : `${scopePath(scope)}/blocks`);
    print(o.json, r, () => (r.blocks.length ? r.blocks.map((b) => `${b.scope}\t${b.anchorId}\tblocked ${b.createdAt}`) : ['no blocked anchors']));
  });
  adminOptions(
    anchor
      .command('unblock <scope> <id>')
      .description('lift a block')
      .option('--dry-run', 'print the plan per scope (every scope that trusts the anchor again) and change nothing')
      .addHelpText('after', '\nExamples:\n  keyshare anchor unblock registry.acme.io sha256:51df999e985db5e71e4be9474f03ba5d4d9f9ba56cd7acb278cdb830309c96c0'),
  ).action(async (scope: string, id: string, o) => {
    const r = await AdminClient.from(o).call<{ published: { timestampVersion: number } | null; plan?: ScopePlan[] }>('DELETE', withDryRun(`${scopePath(scope)}/blocks/${encodeURIComponent(id)}`, o.dryRun));
    print(o.json, r, () => (r.plan ? dryRunLines(r.plan) : `unblocked anchor ${id} at ${scope}${publishedNote(r)}`));
  });
}
