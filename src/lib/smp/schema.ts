/**
 * Checks the shape of a decoded response before the device layer trusts it: a board that sends
 * a string where we expect an integer gets a `bad-response` error naming the field, not a crash later.
 */
import { type CborMap, isCborMap } from './cbor';
import type { SmpError } from './errors';
import { type Result, ok, err } from './result';

export type FieldKind = 'string' | 'integer' | 'boolean' | 'bytes' | 'map' | 'array' | 'any';
export type FieldSpec = FieldKind | `${FieldKind}?`;
export type Shape = Readonly<Record<string, FieldSpec>>;

type KindType<K extends FieldKind> = K extends 'string'
  ? string
  : K extends 'integer'
    ? number
    : K extends 'boolean'
      ? boolean
      : K extends 'bytes'
        ? Uint8Array
        : K extends 'map'
          ? CborMap
          : K extends 'array'
            ? unknown[]
            : unknown;

/** The TypeScript type a shape describes: `{ r: 'string', n: 'integer?' }` → `{ r: string; n?: number }`. */
export type ShapeType<S extends Shape> = {
  [K in keyof S as S[K] extends `${string}?` ? never : K]: S[K] extends FieldKind ? KindType<S[K]> : never;
} & {
  [K in keyof S as S[K] extends `${string}?` ? K : never]?: S[K] extends `${infer B extends FieldKind}?` ? KindType<B> : never;
};

export function matchesKind(value: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return (typeof value === 'number' && Number.isInteger(value)) || typeof value === 'bigint';
    case 'boolean':
      return typeof value === 'boolean';
    case 'bytes':
      return value instanceof Uint8Array;
    case 'map':
      return isCborMap(value);
    case 'array':
      return Array.isArray(value);
    case 'any':
      return value !== undefined;
  }
}

/**
 * @example readShape({ r: 'hi' }, { r: 'string' }, 'os/echo') // { ok: true, value: { r: 'hi' } }
 */
export function readShape<S extends Shape>(value: CborMap, shape: S, command: string): Result<ShapeType<S>, SmpError> {
  for (const [key, spec] of Object.entries(shape)) {
    const optional = spec.endsWith('?');
    const kind = (optional ? spec.slice(0, -1) : spec) as FieldKind;
    const field = value[key];
    if (field === undefined) {
      if (optional) continue;
      return err({ code: 'bad-response', command, message: `${command}: the board's response has no "${key}" field` });
    }
    if (!matchesKind(field, kind)) {
      return err({ code: 'bad-response', command, message: `${command}: "${key}" in the board's response is not ${article(kind)} ${kind}` });
    }
  }
  return ok(value as unknown as ShapeType<S>);
}

function article(kind: FieldKind): string {
  return kind === 'integer' || kind === 'array' || kind === 'any' ? 'an' : 'a';
}
