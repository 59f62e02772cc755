/**
 * The demo's own payloads, checked with valibot (a Standard Schema library, so the tiers take these
 * schemas as they are): the signup body at the HTTP edge, and the event, the job and the audit
 * query wherever they are received, so a foreign publisher on a shared broker cannot hand the
 * contexts a payload of another shape (an email with control characters, a tenant with a glob).
 */
import * as v from 'valibot';
import { TENANT_PATTERN } from './channels.js';

const EMAIL_MESSAGE = 'expected an email address like ada@example.com';
const TENANT_MESSAGE = 'expected 1-63 lowercase letters, digits or dashes';

/** An email as stored: trimmed, lowercased, at most 254 characters; valibot's email rule admits no space or control character. */
export const emailSchema = v.pipe(
  v.string(EMAIL_MESSAGE),
  v.trim(),
  v.toLowerCase(),
  v.maxLength(254, EMAIL_MESSAGE),
  v.email(EMAIL_MESSAGE),
);

export const tenantSchema = v.pipe(v.string(TENANT_MESSAGE), v.regex(TENANT_PATTERN, TENANT_MESSAGE));

/** `POST /api/signup`. Unknown keys are dropped. */
export const signupSchema = v.object({ email: emailSchema, tenant: tenantSchema });

const userId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected a user id'));

/** The `UserSignedUp` event and the `sendWelcomeEmail` job carry the same facts. */
export const signedUpSchema = v.object({ userId, email: emailSchema, tenant: tenantSchema });

/** The audit context's request channel: one tenant's records, or every tenant's. */
export const auditQuerySchema = v.object({ tenant: v.optional(tenantSchema) });

const NO_CONTROL = /^[^\u0000-\u001f\u007f-\u009f]*$/;
const line = (max: number, what: string) =>
  v.pipe(v.string(`expected ${what}`), v.trim(), v.minLength(1, `expected ${what}`), v.maxLength(max, `at most ${max} characters`), v.regex(NO_CONTROL, 'no control characters'));

/** A chat line a page publishes through the gateway: a name of 1-40 and a text of 1-500 characters. Unknown keys are dropped. */
export const chatMessageSchema = v.object({ from: line(40, 'a name'), text: line(500, 'a message') });

/** The issues of a failed parse as one line: `email: expected an email address like ...`. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues.map((issue) => `${issue.path?.map((p) => String(p.key)).join('.') || '(body)'}: ${issue.message}`).join('; ');
}
