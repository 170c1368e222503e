import { z } from 'zod';

const problemSchema = z.object({ error: z.string(), message: z.string(), details: z.unknown().optional() });

/** A failed API call: the server's `{error, message, details}`, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The problem a response body describes; a body of another shape still yields an ApiError. */
export function problemOf(status: number, body: unknown): ApiError {
  const parsed = problemSchema.safeParse(body);
  if (parsed.success) return new ApiError(status, parsed.data.error, parsed.data.message, parsed.data.details ?? null);
  return new ApiError(status, `http_${status}`, `The server answered ${status}.`);
}

const detailSchema = z.object({
  nodeId: z.string().optional(),
  field: z.string().optional(),
  message: z.string(),
  fix: z.string().optional(),
  code: z.string().optional(),
  line: z.number().optional(),
  column: z.number().optional(),
});
export type ProblemDetail = z.infer<typeof detailSchema>;

/** Per-node/field problems in an error's details (validation and compile errors), else []. */
export function problemDetails(error: ApiError): ProblemDetail[] {
  const list = z.array(detailSchema).safeParse(error.details);
  if (list.success) return list.data;
  const one = detailSchema.omit({ message: true }).extend({ message: z.string().optional() }).safeParse(error.details);
  if (one.success && one.data.line !== undefined) return [{ ...one.data, message: error.message }];
  return [];
}
