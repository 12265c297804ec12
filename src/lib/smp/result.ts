/**
 * Results as values: every parser of outside bytes and every SMP request returns one of these
 * instead of throwing, so callers must look at the error and the UI can show its message.
 */

export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function err<E>(error: E): { ok: false; error: E } {
  return { ok: false, error };
}
