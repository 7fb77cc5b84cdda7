import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponseObject } from 'zod-openapi';
import type { AnyRoute } from './route.ts';
import { ProblemWire } from './wire.ts';

/**
 * The admin API's OpenAPI 3.1 document, generated from the route declarations themselves (the
 * same zod schemas the guard parses with), so the document cannot drift from what is served:
 * every route, its parameters, body, success body and every declared error status.
 */
const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  400: 'Bad request: a field is missing, unknown or of the wrong type (`details.issues` names each)',
  401: 'No credentials, or credentials that were not accepted',
  403: 'Authenticated, but not allowed',
  404: 'No such object, or one the caller may not see',
  409: 'Conflicts with the current state (a duplicate name, a last admin)',
  412: 'If-Match did not match: the object changed since it was read',
};

/** `/applications/:id` → `/applications/{id}` */
export const openApiPath = (path: string) => path.replace(/:([A-Za-z_]\w*)/g, '{$1}');

function operation(route: AnyRoute): ZodOpenApiOperationObject {
  const [success, ...errors] = route.status as [number, ...number[]];
  const responses: Record<string, ZodOpenApiResponseObject> = {};
  const successHeaders =
    route.response && !route.list
      ? { ETag: { description: 'the strong entity tag of the object (send it back in If-Match)', schema: { type: 'string' as const } } }
      : undefined;
  responses[String(success)] = {
    description: STATUS_TEXT[success] ?? 'OK',
    ...(successHeaders ? { headers: successHeaders } : {}),
    ...(route.response ? { content: { 'application/json': { schema: route.response } } } : {}),
  };
  for (const status of errors) {
    responses[String(status)] = {
      description: STATUS_TEXT[status] ?? 'Error',
      content: { 'application/problem+json': { schema: ProblemWire } },
    };
  }
  const writes = ['patch', 'put', 'delete'].includes(route.method) && route.current;
  const headers = writes
    ? z.object({ 'if-match': z.string().optional().meta({ description: 'the ETag last read; 412 if the object changed since' }) })
    : undefined;
  return {
    operationId: `${route.method}${openApiPath(route.path)
      .replace(/[{}]/g, '')
      .replace(/\/(\w)/g, (_m, c: string) => c.toUpperCase())
      .replace(/\W/g, '')}`,
    summary: route.summary,
    ...(route.tag ? { tags: [route.tag] } : {}),
    ...(route.public
      ? { security: [] }
      : {
          description: route.own
            ? `Needs \`${route.permission}\`, or acts on your own objects without it.`
            : `Needs \`${route.permission}\`.`,
          'x-permission': route.permission,
        }),
    requestParams: {
      ...(route.params ? { path: route.params } : {}),
      ...(route.query ? { query: route.query } : {}),
      ...(headers ? { header: headers } : {}),
    },
    ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: route.body } } } } : {}),
    responses: responses as ZodOpenApiOperationObject['responses'],
  };
}

/** The document for `routes`, served at `${base}`. */
export function buildOpenApiDocument(routes: readonly AnyRoute[], { base, version }: { base: string; version: string }) {
  const paths: ZodOpenApiPathsObject = {};
  for (const route of routes) {
    const path = openApiPath(route.path);
    paths[path] = { ...(paths[path] ?? {}), [route.method]: operation(route) };
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse admin API',
      version,
      description:
        'Manage applications, users, roles, permissions, organisations, API tokens, APIs and keys. JSON in and out; errors are RFC 9457 problem details whose `type` is a stable URI per error code. Lists take `page`, `page_size` and `order_by` and answer `count`, `next`, `previous` and `results`.',
    },
    servers: [{ url: base }],
    components: {
      securitySchemes: {
        token: { type: 'apiKey', in: 'header', name: 'Authorization', description: '`Authorization: Token <secret>` (an API token)' },
        bearer: { type: 'http', scheme: 'bearer', description: 'a Gatehouse-issued access token' },
        basic: { type: 'http', scheme: 'basic', description: 'username and password' },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: '_session',
          description:
            "the browser session of Gatehouse's sign-in page, for pages of this origin. POST, PUT, PATCH and DELETE with it also need the `X-CSRF-Token` header, whose value `GET /me` answers in `credential.csrf_token` (403 `auth.csrf_failed` otherwise); a cross-origin `Origin` or `Sec-Fetch-Site` is refused.",
        },
      },
    },
    security: [{ token: [] }, { bearer: [] }, { basic: [] }, { session: [] }],
    paths,
  });
}

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;
