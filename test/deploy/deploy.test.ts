/**
 * The Dockerfile and the Kubernetes example (deploy/kubernetes, docs/DEPLOYMENT.md; issue 11):
 * the container runs what `npm start` runs, with settings the configuration accepts, and the
 * manifests parse and agree on names, labels, ports, volumes and paths.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../service/config.js';
import { initCommand } from '../../cli/commands/init.js';
import { tufLocations } from '../support/nginx.js';

const ROOT = join(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };

/** Dockerfile instructions, with line continuations joined and comments dropped. */
function dockerInstructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const m = /^(\S+)\s+(.*)$/.exec(l)!;
      return { op: m[1]!.toUpperCase(), args: m[2]! };
    });
}

/** `ENV A=1 B=2` (the key=value form) as a record. */
function envOf(instructions: { op: string; args: string }[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of instructions.filter((x) => x.op === 'ENV')) {
    for (const m of i.args.matchAll(/([A-Z_][A-Z0-9_]*)=(\S+)/g)) env[m[1]!] = m[2]!;
  }
  return env;
}

describe('the Dockerfile', () => {
  const instructions = dockerInstructions(read('Dockerfile'));
  // The runtime stage: everything after the last FROM.
  const lastFrom = instructions.map((i) => i.op).lastIndexOf('FROM');
  const runtime = instructions.slice(lastFrom);

  it('builds on node:20-slim with npm ci', () => {
    const froms = instructions.filter((i) => i.op === 'FROM').map((i) => i.args.split(/\s+/)[0]);
    expect(froms.length).toBeGreaterThan(0);
    for (const f of froms) expect(f).toBe('node:20-slim');
    expect(instructions.some((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args))).toBe(true);
  });

  it('runs the same command as `npm start`', () => {
    const cmds = runtime.filter((i) => i.op === 'CMD');
    expect(cmds).toHaveLength(1);
    // Exec form (a JSON array): no shell between the signal and the process, so SIGTERM reaches serve.
    const argv = JSON.parse(cmds[0]!.args) as string[];
    expect(argv.join(' ')).toBe(pkg.scripts.start);
    expect(runtime.some((i) => i.op === 'ENTRYPOINT')).toBe(false);
  });

  it('listens on 0.0.0.0:8080 through settings the configuration accepts', () => {
    const env = envOf(runtime);
    expect(env.KEYSHARE_LISTEN).toBe('0.0.0.0:8080');
    const config = loadConfig({ flags: {}, env, cwd: '/app' });
    expect(config.listen).toBe('0.0.0.0:8080');
    expect(config.data).toBe('/data');
    expect(runtime.filter((i) => i.op === 'EXPOSE').map((i) => i.args)).toEqual(['8080']);
    expect(runtime.find((i) => i.op === 'VOLUME')?.args).toContain('"/data"');
  });

  it('leaves local state out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
    for (const p of ['node_modules', 'dist', 'keyshare-data', '.git']) expect(ignored).toContain(p);
  });
});

type Doc = Record<string, any>;
const K8S = 'deploy/kubernetes';

function manifests(): Map<string, Doc[]> {
  const out = new Map<string, Doc[]>();
  for (const file of readdirSync(join(ROOT, K8S)).filter((f) => f.endsWith('.yaml'))) {
    const docs = parseAllDocuments(read(`${K8S}/${file}`));
    for (const d of docs) expect(d.errors, `${file}: ${d.errors.map((e) => e.message).join('; ')}`).toEqual([]);
    out.set(file, docs.map((d) => d.toJS() as Doc).filter((d) => d !== null));
  }
  return out;
}

describe('the Kubernetes example', () => {
  const files = manifests();
  const all = [...files.entries()].filter(([f]) => f !== 'kustomization.yaml').flatMap(([, d]) => d);
  const one = (kind: string, name?: string) => {
    const found = all.filter((d) => d.kind === kind && (name === undefined || d.metadata?.name === name));
    expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
    return found[0]!;
  };
  const deployment = one('Deployment', 'keyshare');
  const service = one('Service', 'keyshare');
  const job = one('Job', 'keyshare-init');
  const pvc = one('PersistentVolumeClaim');
  const pod = deployment.spec.template.spec;
  const keyshare = pod.containers.find((c: Doc) => c.name === 'keyshare');
  const envOfContainer = (c: Doc) => Object.fromEntries((c.env ?? []).map((e: Doc) => [e.name, e.value])) as Record<string, string>;

  it('parses, and every resource has an apiVersion, a kind and a name', () => {
    for (const d of all) {
      expect(d.apiVersion, JSON.stringify(d).slice(0, 80)).toMatch(/^[a-z0-9./]+$/);
      expect(d.kind).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(d.metadata?.name).toMatch(/^[a-z0-9-]+$/);
    }
  });

  it('lists every manifest in kustomization.yaml', () => {
    const kustomization = files.get('kustomization.yaml')![0]!;
    const resources = [...files.keys()].filter((f) => f !== 'kustomization.yaml').sort();
    expect([...kustomization.resources].sort()).toEqual(resources);
  });

  it('routes the Service to the pods and ports of the Deployment', () => {
    const labels = deployment.spec.template.metadata.labels;
    expect(deployment.spec.selector.matchLabels).toEqual(labels);
    for (const [k, v] of Object.entries(service.spec.selector)) expect(labels[k]).toBe(v);
    const containerPorts = new Map<string, number>(pod.containers.flatMap((c: Doc) => (c.ports ?? []).map((p: Doc) => [p.name, p.containerPort])));
    for (const p of service.spec.ports) expect(containerPorts.has(p.targetPort), p.targetPort).toBe(true);
    // keyshare listens where its container port says.
    const listen = envOfContainer(keyshare).KEYSHARE_LISTEN!;
    expect(loadConfig({ flags: {}, env: { KEYSHARE_LISTEN: listen }, cwd: '/app' }).listen).toBe(listen);
    expect(Number(listen.split(':').at(-1))).toBe(containerPorts.get('http'));
    for (const c of pod.containers) {
      for (const probe of [c.readinessProbe, c.livenessProbe].filter(Boolean)) expect(containerPorts.has(probe.httpGet.port)).toBe(true);
    }
    const probes = [keyshare.readinessProbe.httpGet.path, keyshare.livenessProbe.httpGet.path];
    expect(probes).toEqual(['/readyz', '/healthz']);
  });

  it('mounts only volumes the pods define, and the data volume is the claim', () => {
    for (const spec of [pod, job.spec.template.spec]) {
      const volumes = new Map<string, Doc>(spec.volumes.map((v: Doc) => [v.name, v]));
      for (const c of spec.containers) for (const m of c.volumeMounts ?? []) expect(volumes.has(m.name), `${c.name}: ${m.name}`).toBe(true);
      expect(volumes.get('data')!.persistentVolumeClaim.claimName).toBe(pvc.metadata.name);
      for (const v of volumes.values()) if (v.configMap) one('ConfigMap', v.configMap.name);
    }
  });

  it('runs init and serve from the same image on the same data path', () => {
    const init = job.spec.template.spec.containers[0];
    expect(init.image).toBe(keyshare.image);
    const dataMount = (c: Doc) => c.volumeMounts.find((m: Doc) => m.name === 'data').mountPath;
    expect(dataMount(init)).toBe(dataMount(keyshare));
    expect(envOfContainer(keyshare).KEYSHARE_DATA).toBe(dataMount(keyshare));
    expect(envOfContainer(init).KEYSHARE_DATA).toBe(dataMount(init));
    expect(init.command.join(' ')).toContain(`node bin/keyshare.js init --data ${dataMount(init)}`);
    // `init --data` is a real option of the CLI.
    expect(initCommand().options.map((o) => o.long)).toContain('--data');
    // The Deployment relies on the image's CMD (the same as `npm start`).
    expect(keyshare.command).toBeUndefined();
    expect(keyshare.args).toBeUndefined();
  });

  it('serves the static dir with the documented nginx locations', () => {
    const staticDir = envOfContainer(keyshare).KEYSHARE_STATIC_DIR!;
    expect(keyshare.volumeMounts.find((m: Doc) => m.name === 'static').mountPath).toBe(staticDir);
    const nginx = pod.containers.find((c: Doc) => c.name === 'static');
    expect(nginx.volumeMounts.find((m: Doc) => m.name === 'static').mountPath).toBe(staticDir);
    const conf = one('ConfigMap', 'keyshare-static-nginx').data['default.conf'] as string;
    expect(conf).toContain(`listen ${nginx.ports[0].containerPort};`);
    const lines = (text: string) => text.split('\n').map((l) => l.trim()).filter(Boolean);
    expect(lines(conf).join('\n')).toContain(lines(tufLocations(staticDir)).join('\n'));
    // docs/DEPLOYMENT.md shows the same blocks (for its own path).
    expect(lines(read('docs/DEPLOYMENT.md')).join('\n')).toContain(lines(tufLocations('/var/www/keyshare/tuf')).join('\n'));
  });
});
