/**
 * Optional runtime validation through the Standard Schema interface (https://standardschema.dev):
 * zod, valibot, arktype and others implement it, so their schemas plug in while core depends on
 * none of them.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { ValidationError, type ValidationIssueSummary } from './errors.js';
import type { MessageMap, NameOf } from './types.js';

export type { StandardSchemaV1 };

/** A schema per name; names without one are not validated. */
export type SchemaMap<M extends MessageMap> = { [K in NameOf<M>]?: StandardSchemaV1<unknown, M[K]> };

function pathOf(issue: StandardSchemaV1.Issue): string {
  if (!issue.path || issue.path.length === 0) return '(root)';
  return issue.path
    .map((p) => (typeof p === 'object' && p !== null && 'key' in p ? p.key : p))
    .map(String)
    .join('.');
}

/**
 * Validates `payload` against the schema registered for `name`. Resolves to the schema's output
 * (schemas may coerce or strip), or to the payload unchanged when no schema is registered.
 * Rejects with ValidationError naming the event and every failing field.
 */
export async function validatePayload<M extends MessageMap, K extends NameOf<M>>(
  schemas: SchemaMap<M> | undefined,
  name: K,
  payload: unknown,
): Promise<M[K]> {
  const schema = schemas?.[name];
  if (!schema) return payload as M[K];
  const result = await schema['~standard'].validate(payload);
  if (result.issues) {
    const issues: ValidationIssueSummary[] = result.issues.map((i) => ({ path: pathOf(i), message: i.message }));
    throw new ValidationError(name, issues);
  }
  return result.value as M[K];
}
