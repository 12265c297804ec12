/**
 * Distinguished names: subject templates (`CN={deviceId}, serialNumber={boardSerial}, O={org}`)
 * rendered into names whose every value is checked, and parsed names formatted for people.
 *
 * Values go into the certificate as typed strings (UTF8String, or PrintableString where X.520
 * requires it), never through a DN string parser, so a value cannot inject another attribute.
 * We still refuse the characters RFC 4514 must escape (`, + " \ < > ; =`, a leading `#`), control,
 * invisible and direction-changing characters: a device id holding them is a mistake or an attack,
 * and the name would read ambiguously in logs, the UI and `openssl -subj`.
 * Names are written and shown in the order they are encoded (as `openssl -subj` and @peculiar/x509
 * do), not RFC 4514's reversed order.
 */
import { type Result, ok } from '../smp/result';
import { fail, type PkiError } from './errors';

/** X.520 / RFC 4519 attributes a template may use, with their ASN.1 string type and upper bound (RFC 5280 Appendix A). */
export const NAME_ATTRIBUTES = {
  CN: { oid: '2.5.4.3', string: 'utf8String', maxLength: 64 },
  serialNumber: { oid: '2.5.4.5', string: 'printableString', maxLength: 64 },
  O: { oid: '2.5.4.10', string: 'utf8String', maxLength: 64 },
  OU: { oid: '2.5.4.11', string: 'utf8String', maxLength: 64 },
  C: { oid: '2.5.4.6', string: 'printableString', maxLength: 2 },
  L: { oid: '2.5.4.7', string: 'utf8String', maxLength: 128 },
  ST: { oid: '2.5.4.8', string: 'utf8String', maxLength: 128 },
  DC: { oid: '0.9.2342.19200300.100.1.25', string: 'ia5String', maxLength: 63 },
  UID: { oid: '0.9.2342.19200300.100.1.1', string: 'utf8String', maxLength: 256 },
} as const;
export type NameAttributeType = keyof typeof NAME_ATTRIBUTES;

/** Short names for attributes we only display (as in @peculiar/x509 and OpenSSL). */
const DISPLAY_NAMES: Record<string, string> = {
  ...Object.fromEntries(Object.entries(NAME_ATTRIBUTES).map(([name, { oid }]) => [oid, name])),
  '1.2.840.113549.1.9.1': 'emailAddress',
  '2.5.4.4': 'SN',
  '2.5.4.42': 'GN',
  '2.5.4.12': 'title',
};

export interface NameAttribute {
  type: NameAttributeType;
  value: string;
}

/** A rendered subject: what goes into the certificate, and how to show it. */
export interface SubjectName {
  attributes: NameAttribute[];
  text: string;
}

export type SubjectErrorCode = 'subject-bad-template' | 'subject-missing-value' | 'subject-unsafe-value';
export type SubjectError = PkiError<SubjectErrorCode>;

const PLACEHOLDER = /\{([^{}]*)\}/g;
const PLACEHOLDER_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
/** PrintableString (X.680 §41.4) without the characters we refuse anyway. */
const PRINTABLE = /^[A-Za-z0-9 '()./:?-]*$/;
const IA5 = /^[\x20-\x7e]*$/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const INVISIBLE = /[\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;
const RFC4514_SPECIAL = /[,+"\\<>;=]/;

/**
 * Renders `template` with `values`; every attribute is checked after substitution.
 * @example renderSubject('CN={deviceId}, serialNumber={boardSerial}, O=Acme', { deviceId: 'dev-1', boardSerial: 'A1B2' })
 *   // ok({ text: 'CN=dev-1, serialNumber=A1B2, O=Acme', attributes: [...] })
 */
export function renderSubject(template: string, values: Readonly<Record<string, string | undefined>>): Result<SubjectName, SubjectError> {
  if (template.trim() === '') return fail('subject-bad-template', 'subject template is empty');
  const attributes: NameAttribute[] = [];
  for (const part of template.split(',')) {
    const equals = part.indexOf('=');
    if (equals < 0) return fail('subject-bad-template', `subject template: "${part.trim()}" is not ATTRIBUTE=value`);
    const type = part.slice(0, equals).trim();
    if (!isNameAttributeType(type)) {
      return fail('subject-bad-template', `subject template: unknown attribute "${type}" (known: ${Object.keys(NAME_ATTRIBUTES).join(', ')})`);
    }
    const pattern = part.slice(equals + 1).trim();
    if (pattern === '') return fail('subject-bad-template', `subject template: ${type} has no value`);
    if (pattern.replace(PLACEHOLDER, '').match(/[{}]/)) return fail('subject-bad-template', `subject template: unbalanced braces in ${type}=${pattern}`);
    let value = '';
    let last = 0;
    for (const match of pattern.matchAll(PLACEHOLDER)) {
      const name = match[1]!;
      if (!PLACEHOLDER_NAME.test(name)) return fail('subject-bad-template', `subject template: "{${name}}" is not a placeholder name`);
      const supplied = values[name];
      if (supplied === undefined || supplied === '') return fail('subject-missing-value', `subject: no value for {${name}} (used in ${type})`);
      const problem = valueProblem(supplied);
      if (problem) return fail('subject-unsafe-value', `subject: the value for {${name}} (${type}) ${problem}`);
      value += pattern.slice(last, match.index) + supplied;
      last = match.index + match[0].length;
    }
    value += pattern.slice(last);
    const problem = valueProblem(value) ?? typeProblem(type, value);
    if (problem) return fail('subject-unsafe-value', `subject: ${type}=${value.slice(0, 80)} ${problem}`);
    attributes.push({ type, value });
  }
  return ok({ attributes, text: formatAttributes(attributes) });
}

/** `CN=dev-1, O=Acme`, escaping per RFC 4514 so a displayed name is never ambiguous. */
export function formatAttributes(attributes: readonly { type: string; value: string }[]): string {
  return attributes.map(({ type, value }) => `${DISPLAY_NAMES[type] ?? type}=${escapeValue(value)}`).join(', ');
}

/** Display name of an attribute OID (`2.5.4.5` → `serialNumber`), or the OID itself. */
export function attributeDisplayName(oid: string): string {
  return DISPLAY_NAMES[oid] ?? oid;
}

/** The JSON form @peculiar/x509's `Name` takes, keyed by OID with explicit string types, so no string parsing happens. */
export function subjectToJsonName(name: SubjectName): Array<Record<string, Array<Record<string, string>>>> {
  return name.attributes.map(({ type, value }) => {
    const attribute = NAME_ATTRIBUTES[type];
    return { [attribute.oid]: [{ [attribute.string]: value }] };
  });
}

function isNameAttributeType(type: string): type is NameAttributeType {
  return Object.prototype.hasOwnProperty.call(NAME_ATTRIBUTES, type);
}

function valueProblem(value: string): string | undefined {
  if (value !== value.trim()) return 'starts or ends with whitespace';
  if (CONTROL.test(value)) return 'contains a control character';
  if (INVISIBLE.test(value)) return 'contains an invisible or direction-changing character';
  const special = RFC4514_SPECIAL.exec(value);
  if (special) return `contains "${special[0]}", which is not allowed in a certificate name`;
  if (value.startsWith('#')) return 'starts with "#", which is not allowed in a certificate name';
  return undefined;
}

function typeProblem(type: NameAttributeType, value: string): string | undefined {
  const attribute = NAME_ATTRIBUTES[type];
  if (value.length === 0) return 'is empty';
  if (type === 'C' && !/^[A-Z]{2}$/.test(value)) return 'must be a two-letter ISO 3166 country code';
  if ([...value].length > attribute.maxLength) return `is longer than ${attribute.maxLength} characters`;
  if (attribute.string === 'printableString' && !PRINTABLE.test(value)) return 'may only hold letters, digits, space and \' ( ) . / : ? -';
  if (attribute.string === 'ia5String' && !IA5.test(value)) return 'may only hold ASCII characters';
  return undefined;
}

function escapeValue(value: string): string {
  return value
    .replace(/[,+"\\<>;=]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ')
    .replace(/[\u0000-\u001f\u007f]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
