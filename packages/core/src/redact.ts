/**
 * URL redaction for logs and error messages: the password never leaves, even when the text is not
 * a valid URL (a typo in REDIS_URL must not print the secret next to it).
 */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    // Not a URL: strip anything between "//" (or the start) and the last "@" of the authority.
    return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/?#]*@/i, (_m, scheme: string | undefined) => `${scheme ?? ''}***@`);
  }
}
