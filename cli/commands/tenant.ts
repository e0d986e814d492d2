import { Command } from 'commander';
import { AdminClient } from '../client.js';
import { print } from '../output.js';
import { adminOptions } from './admin-options.js';
import type { TenantView } from '../../service/tenant-service.js';

const collect = (v: string, acc: string[]) => [...acc, v];

const lines = (t: TenantView): string[] => [
  `tenant: ${t.name}`,
  `role: ${t.role} (${t.published ? 'published' : 'not published yet'}), ${t.bins} bins ${t.binPrefix}-*`,
  `key: ${t.keyid} (${t.offline ? 'held by the tenant' : 'held by the service'})`,
  `owns: ${t.patterns.join(', ')}`,
  `scopes:${t.scopes.length ? '' : ' none yet'}`,
  ...t.scopes.map((s) => `  ${s}`),
];

export function tenantCommand(): Command {
  const cmd = new Command('tenant')
    .description('tenants: scopes whose trust is signed by a delegated TUF role of their own')
    .addHelpText(
      'after',
      [
        '',
        'A tenant owns scope patterns (each a scope and everything under it). Its trust documents are',
        'signed by the TUF role tenant-<name> and its hashed bins, delegated from targets for those',
        'paths only: a compromised tenant key cannot sign trust for another tenant\'s scopes.',
      ].join('\n'),
    );
  adminOptions(
    cmd
      .command('add <name>')
      .description('create a tenant owning --scopes, with a role key held by the service')
      .requiredOption('--scopes <pattern>', 'a scope the tenant owns, with everything under it (repeatable)', collect, [])
      .option('--editor-token', 'also create an editor token restricted to the tenant\'s scopes (shown once)')
      .addHelpText(
        'after',
        [
          '',
          'Examples:',
          '  keyshare tenant add team-a --scopes registry.acme.io/team-a',
          '  keyshare tenant add acme --scopes registry.acme.io --scopes ghcr.io/acme --editor-token --json',
          '',
          'The service generates the tenant\'s key in <data>/keys/tenant-<name>.pem and moves the trust',
          'documents of existing scopes under the patterns into the tenant\'s role. A pattern is a registry',
          'or a namespace (not * or *.domain), and belongs to one tenant only.',
        ].join('\n'),
      ),
  ).action(async (name: string, o) => {
    const r = await AdminClient.from(o).call<{ tenant: TenantView; published: { timestampVersion: number } | null; token?: { id: string; token: string } }>(
      'POST',
      '/tenants',
      { name, scopes: o.scopes, ...(o.editorToken ? { token: true } : {}) },
    );
    print(o.json, r, () => [
      `created tenant ${name}${r.published ? ` (published, timestamp version ${r.published.timestampVersion})` : ''}`,
      ...lines(r.tenant),
      ...(r.token ? ['', `editor token ${r.token.id} (shown only this once):`, r.token.token] : []),
    ]);
  });
  adminOptions(cmd.command('ls').description('list tenants')).action(async (o) => {
    const r = await AdminClient.from(o).call<{ tenants: TenantView[] }>('GET', '/tenants');
    print(o.json, r, () => (r.tenants.length ? r.tenants.map((t) => `${t.name}\t${t.patterns.join(',')}\t${t.offline ? 'offline' : 'service-held'}\t${t.scopes.length} scopes`) : ['no tenants']));
  });
  adminOptions(cmd.command('show <name>').description('show a tenant, its role and the scopes it owns')).action(async (name: string, o) => {
    const r = await AdminClient.from(o).call<{ tenant: TenantView }>('GET', `/tenants/${encodeURIComponent(name)}`);
    print(o.json, r, () => lines(r.tenant));
  });
  return cmd;
}
