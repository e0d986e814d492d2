/**
 * The B1 baseline: a bare node:http server sending the same bytes from memory, with the
 * same headers keyshare sends (Content-Type, ETag, Cache-Control). Argument: JSON
 * `{ files: { "/tuf/timestamp.json": "/path/on/disk", ... } }`.
 */
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const cfg = JSON.parse(process.argv[2] ?? '{}') as { files: Record<string, string> };
const files = new Map<string, { bytes: Buffer; etag: string }>();
for (const [path, file] of Object.entries(cfg.files)) {
  const bytes = readFileSync(file);
  files.set(path, { bytes, etag: `"${createHash('sha256').update(bytes).digest('hex')}"` });
}
const server = createServer((req, res) => {
  const f = files.get(req.url ?? '');
  if (!f) {
    res.writeHead(404).end();
    return;
  }
  if (req.headers['if-none-match'] === f.etag) {
    res.writeHead(304, { ETag: f.etag }).end();
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': f.bytes.length, ETag: f.etag, 'Cache-Control': 'public, max-age=1' });
  res.end(f.bytes);
});
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.send!({ url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, pid: process.pid });
});
process.on('message', (m) => {
  if (m === 'stop') server.close(() => process.exit(0));
});
