/**
 * The one error shape of the PKI layer: a `code` from the module's string union (what the audit
 * log stores) and a `message` for a person (what the UI shows). Each module names its own union.
 */
import { err } from '../smp/result';

export interface PkiError<Code extends string> {
  code: Code;
  message: string;
}

/** `fail('pem-empty', 'no PEM block found')`: an `err` carrying a `PkiError`. */
export function fail<Code extends string>(code: Code, message: string): { ok: false; error: PkiError<Code> } {
  return err({ code, message });
}

/** The text of something a library or WebCrypto threw (`OperationError: …`), for a typed error's message. */
export function describeCaught(caught: unknown): string {
  if (!(caught instanceof Error)) return String(caught);
  return caught.name && caught.name !== 'Error' ? `${caught.name}: ${caught.message}` : caught.message;
}
