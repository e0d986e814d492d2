/**
 * The parse worker (worker-pool.ts, untrusted.ts): parses untrusted certificates off the event
 * loop (issue 16, finding 1). It loads only its parsers (not the service), before it says it
 * is ready: loading does not count against a task's time limit. Refusals cross back as
 * `{ code, message }`.
 */
import { parentPort } from 'node:worker_threads';
import { parseCertificate } from './x509.js';
import { parseCertificateChain } from './chain.js';
import type { WorkerError } from './worker-pool.js';

export type ParseTask = { kind: 'certificate'; input: string | Uint8Array } | { kind: 'chain'; input: string | Uint8Array };

function run(task: ParseTask): unknown {
  switch (task.kind) {
    case 'certificate':
      return parseCertificate(task.input);
    case 'chain':
      return parseCertificateChain(task.input);
  }
}

function asWorkerError(e: unknown): WorkerError {
  const code = typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : null;
  return { code, message: e instanceof Error ? e.message : String(e) };
}

const port = parentPort!;
port.on('message', ({ id, task }: { id: number; task: ParseTask }) => {
  try {
    port.postMessage({ id, value: run(task) });
  } catch (e) {
    port.postMessage({ id, error: asWorkerError(e) });
  }
});
port.postMessage({ ready: true });
