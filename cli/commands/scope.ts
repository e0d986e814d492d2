import { Command, Option } from 'commander';
import { AdminClient, scopePath } from '../client.js';
import { print, publishedNote } from '../output.js';
import { adminOptions } from './admin-options.js';
import { LEVELS } from '../../service/domain/types.js';
import type { ScopePlan } from '../../service/domain/plan.js';
import { dryRunLines, withDryRun } from '../plan-output.js';

interface ScopeView {
  scope: string;
  inherit: boolean;
  level: string | null;
}

export function scopeCommand(): Command {
  const cmd = new Command('scope').description('define registry, namespace and repository scopes');
  adminOptions(
    cmd
      .command('add <scope>')
      .description('create a scope: *, *.example.com, host[:port], or host[:port]/path')
      .option('--no-inherit', 'do not inherit anchors, revocations and level from parent scopes')
      .addOption(new Option('--level <level>', 'signature verification level').choices(LEVELS as string[]))
      .option('--dry-run', 'print the plan per scope (the new scope, with what it inherits) and change nothing')
      .addHelpText('after', '\nExamples:\n  keyshare scope add registry.acme.io\n  keyshare scope add registry.acme.io/team-a --level audit\n  keyshare scope add "*.acme.io" --no-inherit'),
  ).action(async (scope: string, o) => {
    const r = await AdminClient.from(o).call<{ scope: ScopeView; published: { timestampVersion: number } | null; plan?: ScopePlan[] }>('POST', withDryRun('/scopes', o.dryRun), {
      scope,
      inherit: o.inherit,
      level: o.level ?? null,
    });
    print(o.json, r, () => (r.plan ? dryRunLines(r.plan) : `created scope ${scope}${publishedNote(r)}`));
  });
  adminOptions(cmd.command('ls').description('list scopes')).action(async (o) => {
    const r = await AdminClient.from(o).call<{ scopes: ScopeView[] }>('GET', '/scopes');
    print(o.json, r, () => r.scopes.map((s) => `${s.scope}\t${s.level ?? '(inherited level)'}${s.inherit ? '' : '\tno-inherit'}`));
  });
  adminOptions(cmd.command('show <scope>').description('show a scope and its own anchors (blocked ones marked)')).action(async (scope: string, o) => {
    const client = AdminClient.from(o);
    const r = await client.call<{ scope: ScopeView; anchors: { id: string; name: string; type: string; notAfter: string | null; blocked?: boolean }[] }>('GET', scopePath(scope));
    // Issue 24: an anchor blocked here (keyshare anchor block) is stored but not published.
    const { blocks } = await client.call<{ blocks: { anchorId: string }[] }>('GET', `${scopePath(scope)}/blocks`);
    const blocked = new Set(blocks.map((b) => b.anchorId));
    for (const a of r.anchors) a.blocked = blocked.has(a.id);
    const others = [...blocked].filter((id) => !r.anchors.some((a) => a.id === id));
    print(o.json, { ...r, blocked: [...blocked] }, () => [
      `scope: ${r.scope.scope}`,
      `inherit: ${r.scope.inherit}`,
      `level: ${r.scope.level ?? '(inherited)'}`,
      `anchors:${r.anchors.length ? '' : ' none'}`,
      ...r.anchors.map((a) => `  ${a.id}\t${a.type}\t${a.name}${a.notAfter ? `\texpires ${a.notAfter}` : ''}${a.blocked ? '\tBLOCKED (not published)' : ''}`),
      ...(others.length ? ['blocked here (inherited or upstream anchors):', ...others.map((id) => `  ${id}\tBLOCKED`)] : []),
    ]);
  });
  adminOptions(cmd.command('rm <scope>').description('remove a scope and its anchors').option('--dry-run', 'print the plan per scope and change nothing')).action(async (scope: string, o) => {
    const r = await AdminClient.from(o).call<{ published: { timestampVersion: number } | null; plan?: ScopePlan[] }>('DELETE', withDryRun(scopePath(scope), o.dryRun));
    print(o.json, r, () => (r.plan ? dryRunLines(r.plan) : `removed scope ${scope}${publishedNote(r)}`));
  });
  return cmd;
}
