/**
 * /api/docs: the admin API's reference, rendered on the server from the generated OpenAPI
 * document (no CDN assets, no JavaScript), so it works offline and cannot drift from the API.
 */
import type { FC } from 'hono/jsx';
import { html } from 'hono/html';

type Json = Record<string, any>;

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;

const schemaName = (s: Json | undefined): string => {
  if (!s) return '';
  if (s.$ref) return String(s.$ref).split('/').pop()!;
  if (s.type === 'array') return `${schemaName(s.items)}[]`;
  if (s.type === 'object' && s.properties) return `{ ${Object.keys(s.properties).join(', ')} }`;
  return s.type ?? (s.anyOf || s.oneOf ? 'one of several' : 'any');
};

const anchorFor = (method: string, path: string) => `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, '-');

const Operation: FC<{ method: string; path: string; op: Json }> = ({ method, path, op }) => (
  <section class="op" id={anchorFor(method, path)} aria-labelledby={`${anchorFor(method, path)}-h`}>
    <h3 id={`${anchorFor(method, path)}-h`}>
      <span class={`method ${method}`}>{method.toUpperCase()}</span> <code>/api/v1{path}</code>
    </h3>
    {op.summary && <p>{op.summary}</p>}
    {op.description && <p class="muted">{op.description}</p>}
    {Array.isArray(op.parameters) && op.parameters.length > 0 && (
      <table>
        <caption>Parameters</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">In</th>
            <th scope="col">Required</th>
            <th scope="col">Description</th>
          </tr>
        </thead>
        <tbody>
          {op.parameters.map((p: Json) => (
            <tr>
              <td>
                <code>{p.name}</code>
              </td>
              <td>{p.in}</td>
              <td>{p.required ? 'yes' : 'no'}</td>
              <td>{p.description ?? schemaName(p.schema)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
    {op.requestBody && (
      <p>
        Request body ({Object.keys(op.requestBody.content ?? {}).join(', ')}):{' '}
        <code>{schemaName(Object.values(op.requestBody.content ?? {})[0] ? (Object.values(op.requestBody.content)[0] as Json).schema : undefined)}</code>
      </p>
    )}
    <table>
      <caption>Responses</caption>
      <thead>
        <tr>
          <th scope="col">Status</th>
          <th scope="col">Description</th>
          <th scope="col">Body</th>
        </tr>
      </thead>
      <tbody>
        {Object.entries(op.responses ?? {}).map(([status, r]) => (
          <tr>
            <td>{status}</td>
            <td>{(r as Json).description}</td>
            <td>
              <code>{schemaName(((r as Json).content?.['application/json'] as Json | undefined)?.schema)}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </section>
);

const DocsPage: FC<{ doc: Json }> = ({ doc }) => {
  const ops: { method: string; path: string; op: Json; tag: string }[] = [];
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Json)) {
    for (const m of METHODS) if (item[m]) ops.push({ method: m, path, op: item[m], tag: item[m].tags?.[0] ?? 'other' });
  }
  const tags = [...new Set(ops.map((o) => o.tag))].sort();
  const schemas = Object.entries((doc.components?.schemas ?? {}) as Json);
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{doc.info?.title ?? 'API'} · reference</title>
        <link rel="stylesheet" href="/ui/console.css" />
      </head>
      <body>
        <main id="main">
          <h1>
            {doc.info?.title} <small class="muted">{doc.info?.version}</small>
          </h1>
          <p>{doc.info?.description}</p>
          <p>
            Every route takes <code>Authorization: Bearer &lt;token&gt;</code>. The machine-readable description is{' '}
            <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI {doc.openapi}).
          </p>
          <nav aria-label="Operations">
            <ul>
              {ops.map((o) => (
                <li>
                  <a href={`#${anchorFor(o.method, o.path)}`}>
                    {o.method.toUpperCase()} /api/v1{o.path}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          {tags.map((tag) => (
            <section aria-labelledby={`tag-${tag}`}>
              <h2 id={`tag-${tag}`}>{tag}</h2>
              {ops
                .filter((o) => o.tag === tag)
                .map((o) => (
                  <Operation method={o.method} path={o.path} op={o.op} />
                ))}
            </section>
          ))}
          {schemas.length > 0 && (
            <section aria-labelledby="schemas">
              <h2 id="schemas">Schemas</h2>
              {schemas.map(([name, schema]) => (
                <details>
                  <summary>
                    <code>{name}</code>
                  </summary>
                  <pre>
                    <code>{JSON.stringify(schema, null, 2)}</code>
                  </pre>
                </details>
              ))}
            </section>
          )}
        </main>
      </body>
    </html>
  );
};

export function renderApiDocs(doc: object) {
  return html`<!doctype html>${(<DocsPage doc={doc as Json} />)}`;
}
