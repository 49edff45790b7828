/**
 * productpage's login state. The real app keeps `user` in Flask's signed
 * session cookie (`session=<base64 JSON>.<timestamp>.<signature>`); the
 * stand-in writes the same cookie name with the base64url JSON payload and
 * no signature, and reads the payload of either form. Nothing else in the
 * mesh reads the cookie: only the `end-user` header it turns into matters.
 */
const COOKIE_NAME = 'session';

export function sessionCookie(user: string): string {
  const payload = Buffer.from(JSON.stringify({ user })).toString('base64url');
  return `${COOKIE_NAME}=${payload}; HttpOnly; Path=/`;
}

export function clearSessionCookie(): string {
  return `${COOKIE_NAME}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; Path=/`;
}

/** The logged-in user from a Cookie header, or '' when there is none. */
export function sessionUser(cookieHeader: string | undefined): string {
  for (const part of (cookieHeader ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== COOKIE_NAME) continue;
    const payload =
      part
        .slice(eq + 1)
        .trim()
        .split('.')[0] ?? '';
    try {
      const decoded: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      const user =
        typeof decoded === 'object' && decoded !== null
          ? (decoded as Record<string, unknown>)['user']
          : undefined;
      return typeof user === 'string' ? user : '';
    } catch {
      return '';
    }
  }
  return '';
}
