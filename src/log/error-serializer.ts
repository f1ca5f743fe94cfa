/**
 * How an error appears in a log line: its type, message, stack, a few scalar diagnostic fields and its cause chain,
 * and nothing else. Library errors carry whatever they were given: ioredis puts the failed command on the error
 * (`command.args`, which for AUTH is the Redis password), so the whole object must never be logged. Only the
 * fields listed here are copied; anything else an error carries (command, args, options, request bodies) is dropped.
 */

/** Scalar fields worth keeping: Node system errors (code, errno, syscall, address, port), gRPC (details), ours (kind, category). */
const KEPT_FIELDS = ['code', 'errno', 'syscall', 'address', 'port', 'details', 'kind', 'category', 'signal'] as const;
const MAX_DEPTH = 4;

export interface SerializedError {
  type: string;
  message: string;
  stack?: string;
  cause?: SerializedError | string;
  errors?: Array<SerializedError | string>;
  [field: string]: unknown;
}

const isScalar = (v: unknown): v is string | number | boolean => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

function serialize(value: unknown, depth: number): SerializedError | string {
  if (typeof value === 'function') return '[function]';
  if (typeof value !== 'object' || value === null) return `${value as string | number | boolean | bigint | null | undefined}`;
  const e = value as Record<string, unknown>;
  const out: SerializedError = {
    type: value instanceof Error ? value.constructor.name : 'Object',
    message: typeof e.message === 'string' ? e.message : '',
  };
  if (typeof e.stack === 'string') out.stack = e.stack;
  for (const f of KEPT_FIELDS) if (isScalar(e[f])) out[f] = e[f];
  if (depth < MAX_DEPTH) {
    if (e.cause !== undefined) out.cause = serialize(e.cause, depth + 1);
    if (Array.isArray(e.errors)) out.errors = e.errors.slice(0, 10).map((x) => serialize(x, depth + 1));
  }
  return out;
}

/** pino serializer for the `err` and `error` keys. Strings (an `err.message` someone logged) pass through. */
export function errorSerializer(value: unknown): unknown {
  if (typeof value === 'string') return value;
  return serialize(value, 0);
}
