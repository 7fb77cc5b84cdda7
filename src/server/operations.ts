import { z } from 'zod';
import type { Services } from '../container.ts';
import { CreateApiResource } from '../domain/api-resources/api-resource.schema.ts';
import { CreateApplication, UpdateApplication } from '../domain/applications/application.schema.ts';

/**
 * Administrative operations the CLI performs. Each runs against the services, either in the CLI's
 * own process (PostgreSQL, or an embedded database no server holds) or inside the running server
 * through its control socket (an embedded database a server holds: PGlite is single-process).
 */
interface Operation<I extends z.ZodType> {
  input: I;
  run(services: Services, input: z.infer<I>, actor: string): Promise<unknown>;
}

const op = <I extends z.ZodType>(o: Operation<I>) => o;

const ClientIdInput = z.object({ clientId: z.string().min(1) });

export const OPERATIONS = {
  'apis.create': op({ input: CreateApiResource, run: (s, input, actor) => s.apis.register(input, actor) }),
  'apis.list': op({ input: z.object({}), run: (s) => s.apis.list() }),
  'apis.delete': op({
    input: z.object({ identifier: z.string().min(1), force: z.boolean().default(false) }),
    run: (s, input, actor) => s.apis.remove(input.identifier, actor, { force: input.force }).then(() => ({ deleted: input.identifier })),
  }),
  'clients.create': op({ input: CreateApplication, run: (s, input, actor) => s.applications.register(input, actor) }),
  'clients.list': op({ input: z.object({}), run: (s) => s.applications.list() }),
  'clients.show': op({ input: ClientIdInput, run: (s, input) => s.applications.get(input.clientId) }),
  'clients.update': op({ input: UpdateApplication, run: (s, input, actor) => s.applications.update(input, actor) }),
  'clients.rotate-secret': op({ input: ClientIdInput, run: (s, input, actor) => s.applications.rotateSecret(input.clientId, actor) }),
  'clients.delete': op({
    input: ClientIdInput,
    run: (s, input, actor) => s.applications.remove(input.clientId, actor).then(() => ({ deleted: input.clientId })),
  }),
  'keys.list': op({ input: z.object({}), run: (s) => s.signingKeys.list() }),
  'keys.rotate': op({
    input: z.object({ now: z.boolean().default(false) }),
    run: (s, input, actor) => s.signingKeys.rotate(actor, { immediately: input.now }),
  }),
  'keys.revoke': op({
    input: z.object({ kid: z.string().min(1) }),
    run: (s, input, actor) => s.signingKeys.revoke(input.kid, actor),
  }),
} as const;

export type OperationName = keyof typeof OPERATIONS;

export function isOperationName(name: string): name is OperationName {
  return Object.hasOwn(OPERATIONS, name);
}

/** Validates and runs an operation. Throws ZodError or AppError on bad input. */
export async function runOperation(services: Services, name: OperationName, input: unknown, actor: string): Promise<unknown> {
  const operation = OPERATIONS[name] as Operation<z.ZodType>;
  return operation.run(services, operation.input.parse(input), actor);
}
