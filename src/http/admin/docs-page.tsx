import { renderToString } from 'preact-render-to-string';
import type { OpenApiDocument } from './openapi.ts';

/**
 * The browsable page of the OpenAPI document (`GET /api/v1/docs`): a plain, server-rendered list
 * of every operation with its permission, parameters, body and responses. No script, no external
 * asset, no style beyond the browser's own: it reads the same in a screen reader, a text browser
 * and a printout. Schemas are shown as the JSON Schema the document holds.
 */
type Json = Record<string, unknown>;

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

function resolve(doc: Json, schema: unknown): unknown {
  const ref = (schema as { $ref?: string } | undefined)?.$ref;
  if (!ref?.startsWith('#/components/schemas/')) return schema;
  return ((doc.components as Json | undefined)?.schemas as Json | undefined)?.[ref.slice('#/components/schemas/'.length)];
}

function Schema({ doc, schema }: { doc: Json; schema: unknown }) {
  return <pre>{JSON.stringify(resolve(doc, schema), null, 2)}</pre>;
}

function Operation({ doc, method, path, op }: { doc: Json; method: string; path: string; op: Json }) {
  const id = String(op.operationId ?? `${method}-${path}`);
  const params = (op.parameters ?? []) as Array<{ name: string; in: string; required?: boolean; description?: string; schema?: Json }>;
  const body = ((op.requestBody as Json | undefined)?.content as Json | undefined)?.['application/json'] as Json | undefined;
  const responses = (op.responses ?? {}) as Record<string, Json>;
  return (
    <section aria-labelledby={id}>
      <h3 id={id}>
        <code>
          {method.toUpperCase()} {path}
        </code>
      </h3>
      <p>{String(op.summary ?? '')}</p>
      {op.description ? <p>{String(op.description)}</p> : null}
      {params.length ? (
        <table>
          <caption>Parameters</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">In</th>
              <th scope="col">Required</th>
              <th scope="col">Type</th>
              <th scope="col">Description</th>
            </tr>
          </thead>
          <tbody>
            {params.map((p) => (
              <tr key={`${p.in}-${p.name}`}>
                <td>
                  <code>{p.name}</code>
                </td>
                <td>{p.in}</td>
                <td>{p.required ? 'yes' : 'no'}</td>
                <td>
                  <code>{JSON.stringify(resolve(doc, p.schema) ?? {})}</code>
                </td>
                <td>{p.description ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {body ? (
        <details>
          <summary>Request body (application/json)</summary>
          <Schema doc={doc} schema={body.schema} />
        </details>
      ) : null}
      <dl>
        {Object.entries(responses).map(([status, response]) => {
          const content = response.content as Record<string, Json> | undefined;
          const [type, media] = Object.entries(content ?? {})[0] ?? [];
          return [
            <dt key={`${status}-t`}>
              {status} {String(response.description ?? '')}
            </dt>,
            <dd key={`${status}-d`}>
              {media && status.startsWith('2') ? (
                <details>
                  <summary>{type}</summary>
                  <Schema doc={doc} schema={media.schema} />
                </details>
              ) : (
                (type ?? 'no body')
              )}
            </dd>,
          ];
        })}
      </dl>
    </section>
  );
}

export function renderDocsPage(document: OpenApiDocument, openApiHref: string): string {
  const doc = document as unknown as Json;
  const info = doc.info as { title: string; version: string; description?: string };
  const paths = doc.paths as Record<string, Json>;
  const byTag = new Map<string, Array<{ method: string; path: string; op: Json }>>();
  for (const [path, item] of Object.entries(paths)) {
    for (const method of METHODS) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      const tag = ((op.tags as string[] | undefined) ?? ['other'])[0] as string;
      byTag.set(tag, [...(byTag.get(tag) ?? []), { method, path, op }]);
    }
  }
  const page = (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex, nofollow" />
        <title>{`${info.title} ${info.version}`}</title>
        <link rel="icon" href="data:," />
      </head>
      <body>
        <header>
          <p>
            <a href="#main">Skip to the operations</a>
          </p>
        </header>
        <main id="main">
          <h1>{info.title}</h1>
          <p>{info.description}</p>
          <p>
            Version {info.version}. The machine-readable document: <a href={openApiHref}>OpenAPI 3.1 (JSON)</a>.
          </p>
          <nav aria-label="Resources">
            <ul>
              {[...byTag.keys()].map((tag) => (
                <li key={tag}>
                  <a href={`#tag-${tag}`}>{tag}</a>
                </li>
              ))}
            </ul>
          </nav>
          {[...byTag.entries()].map(([tag, ops]) => (
            <section key={tag} aria-labelledby={`tag-${tag}`}>
              <h2 id={`tag-${tag}`}>{tag}</h2>
              {ops.map((o) => (
                <Operation key={`${o.method} ${o.path}`} doc={doc} {...o} />
              ))}
            </section>
          ))}
        </main>
      </body>
    </html>
  );
  return `<!doctype html>${renderToString(page)}`;
}
