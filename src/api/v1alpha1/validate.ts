import type { z } from 'zod';

/** The outcome of validating an object the operator read: the typed object, or one readable message. */
export type Validated<T> = { ok: true; value: T } | { ok: false; message: string };

/**
 * validate parses an object read from the API with its kind's schema, applying defaults. A
 * malformed object (e.g. written before a CRD upgrade) yields a message for an InvalidSpec
 * condition instead of an exception.
 */
export function validate<S extends z.ZodType>(schema: S, object: unknown): Validated<z.output<S>> {
  const result = schema.safeParse(object);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, message: formatIssues(result.error.issues) };
}

/** formatIssues renders zod issues as "path: message" lines joined with "; " (values are never echoed). */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(object)'}: ${i.message}`).join('; ');
}
