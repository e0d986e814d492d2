/**
 * A worker module for test/service/crypto/worker-pool.test.ts: it answers `echo`, dies on
 * `exit`, throws outside any handler on `throw`, and fills its heap on `oom`.
 */
import { parentPort } from 'node:worker_threads';

const port = parentPort!;
const hoard: unknown[] = [];
port.on('message', ({ id, task }: { id: number; task: { kind: string; value?: unknown } }) => {
  switch (task.kind) {
    case 'echo':
      return port.postMessage({ id, value: task.value });
    case 'refuse':
      return port.postMessage({ id, error: { code: 'SOME_CODE', message: 'refused' } });
    case 'spin':
      for (;;);
    case 'exit':
      process.exit(3);
    case 'throw':
      setImmediate(() => {
        throw new Error('uncaught in the worker');
      });
      return;
    case 'oom':
      for (;;) hoard.push(new Array(1_000_000).fill(hoard.length));
  }
});
port.postMessage({ ready: true });
