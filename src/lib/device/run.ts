/**
 * Sends a command from the table and checks the response's shape: the one path every typed
 * group call goes through.
 */
import type { CborMap } from '../smp/cbor';
import type { SmpClient } from '../smp/client';
import type { SmpError } from '../smp/errors';
import { describeCommand } from '../smp/ids';
import { type Result, ok, err } from '../smp/result';
import { readShape } from '../smp/schema';
import type { CommandSpec } from './commands';

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export async function runCommand(client: SmpClient, spec: CommandSpec, payload: CborMap = {}, options: CallOptions = {}): Promise<Result<CborMap, SmpError>> {
  const reply = await client.request({
    group: spec.group,
    command: spec.command,
    op: spec.op,
    payload,
    signal: options.signal,
    timeoutMs: options.timeoutMs ?? spec.timeoutMs,
  });
  if (!reply.ok) return reply;
  const checked = readShape(reply.value, spec.response, describeCommand(spec.group, spec.command));
  return checked.ok ? reply : checked;
}

/** Transforms a successful value, passes an error through. */
export function map<T, U>(result: Result<T, SmpError>, transform: (value: T) => U): Result<U, SmpError> {
  return result.ok ? ok(transform(result.value)) : err(result.error);
}
