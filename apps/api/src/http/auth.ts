import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import express, { Router, type Request, type RequestHandler } from 'express';
import type { Config } from '@model-manager/core';
import { ApiError } from './api-error.js';

export type Access = 'full' | 'read';

/** Routes anyone may call: load balancers and orchestrators probe them without a token. */
const OPEN_PATHS = new Set(['/healthz', '/readyz']);
const COOKIE = 'mm_session';
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** SHA-256 digests: equal length whatever the secret, so comparing them in constant time leaks neither content nor length. */
const digestOf = (secret: string) => createHash('sha256').update(secret).digest();

/**
 * The dashboard's cookie holds a value derived from the token, not the token: a leaked cookie
 * opens the dashboard until the token changes, but never reveals the token for the API.
 */
const sessionValue = (token: string) =>
  createHmac('sha256', token).update('model-manager dashboard session').digest('base64url');

export class TokenCheck {
  readonly enabled: boolean;
  // Digests of what is expected, made once: a request hashes only what it brings.
  private readonly tokens: Array<{ digest: Buffer; access: Access }>;
  private readonly sessions: Array<{ digest: Buffer; access: Access }>;

  constructor(config: Pick<Config, 'API_TOKEN' | 'API_TOKENS_READONLY'>) {
    this.enabled = !!config.API_TOKEN;
    const all: Array<{ token: string; access: Access }> = [
      ...(config.API_TOKEN ? [{ token: config.API_TOKEN, access: 'full' as const }] : []),
      ...config.API_TOKENS_READONLY.map((token) => ({ token, access: 'read' as const })),
    ];
    this.tokens = all.map(({ token, access }) => ({ digest: digestOf(token), access }));
    this.sessions = all.map(({ token, access }) => ({ digest: digestOf(sessionValue(token)), access }));
  }

  /** What a bearer token may do, or null when it is none of ours. Every token is compared. */
  access(token: string): Access | null {
    return TokenCheck.match(digestOf(token), this.tokens);
  }

  /** What a dashboard session cookie may do, or null. */
  sessionAccess(value: string): Access | null {
    return TokenCheck.match(digestOf(value), this.sessions);
  }

  private static match(given: Buffer, expected: ReadonlyArray<{ digest: Buffer; access: Access }>): Access | null {
    let found: Access | null = null;
    for (const { digest, access } of expected) if (timingSafeEqual(given, digest) && !found) found = access;
    return found;
  }
}

function cookieOf(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

/**
 * With API_TOKEN set, everything but the health probes (and /metrics when METRICS_PUBLIC) needs
 * `Authorization: Bearer <token>`, or for the dashboard the session cookie its login page sets.
 * Read-only tokens may only read. Without API_TOKEN everything is open (loopback by default:
 * see main.ts, which refuses a public address without a token).
 */
export function authenticate(
  config: Config,
  dashboardPath: string,
  onFailure: (req: Request) => void = () => {},
): RequestHandler {
  const tokens = new TokenCheck(config);
  return (req, res, next) => {
    if (!tokens.enabled || OPEN_PATHS.has(req.path) || (req.path === '/metrics' && config.METRICS_PUBLIC))
      return next();
    const onDashboard = req.path === dashboardPath || req.path.startsWith(`${dashboardPath}/`);
    if (onDashboard && req.path === `${dashboardPath}/login`) return next();
    const header = req.get('authorization') ?? '';
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    let access: Access | null = bearer ? tokens.access(bearer) : null;
    if (!access && !bearer && onDashboard) {
      const cookie = cookieOf(req.get('cookie'), COOKIE);
      access = cookie ? tokens.sessionAccess(cookie) : null;
      if (!access && req.method === 'GET' && !req.path.startsWith(`${dashboardPath}/api/`)) {
        return res.redirect(303, `${req.baseUrl}${dashboardPath}/login`);
      }
    }
    if (!access) {
      onFailure(req);
      res.setHeader('www-authenticate', 'Bearer realm="model-manager"');
      throw new ApiError(
        401,
        'UNAUTHORIZED',
        bearer ? 'the token is not valid' : 'this route needs Authorization: Bearer <API_TOKEN>',
      );
    }
    // The dashboard shows a read-only caller Bull Board without its buttons (see dashboard.ts).
    res.locals.access = access;
    if (access === 'read' && !READ_METHODS.has(req.method)) {
      throw new ApiError(403, 'READ_ONLY_TOKEN', `a read-only token may not ${req.method} ${req.path}`);
    }
    // Who is calling, for the rate limit (only when there is one): a digest of the token, never the token.
    if (config.RATE_LIMIT_PER_MINUTE)
      res.locals.caller = `token:${digestOf(bearer ?? cookieOf(req.get('cookie'), COOKIE) ?? '')
        .toString('hex')
        .slice(0, 16)}`;
    next();
  };
}

const loginPage = (action: string, failed: boolean) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Model Manager: sign in</title>
<style>body{font-family:system-ui,sans-serif;max-width:26rem;margin:5rem auto;padding:0 1rem}input,button{font-size:1rem;padding:.5rem;width:100%;box-sizing:border-box;margin:.3rem 0}.err{color:#b00}</style></head>
<body><h1>Model Manager</h1><p>The dashboard needs the API token (API_TOKEN, or a read-only one).</p>
${failed ? '<p class="err">That token is not valid.</p>' : ''}
<form method="post" action="${action}"><label>Token <input type="password" name="token" autocomplete="current-password" autofocus required></label><button type="submit">Sign in</button></form>
</body></html>`;

/**
 * The dashboard's login: a form that takes the token once and sets an HttpOnly, SameSite=Strict
 * cookie scoped to the dashboard, so a browser can use Bull Board without sending headers.
 */
export function dashboardLogin(
  config: Config,
  dashboardPath: string,
  onFailure: (req: Request) => void = () => {},
): Router {
  const tokens = new TokenCheck(config);
  const router = Router();
  const path = `${dashboardPath}/login`;
  router.get(path, (_req, res) => {
    res.type('html').send(loginPage(path, false));
  });
  router.post(path, express.urlencoded({ extended: false, limit: '4kb' }), (req, res) => {
    const token = typeof req.body?.token === 'string' ? req.body.token.trim() : '';
    if (!tokens.enabled || !token || !tokens.access(token)) {
      onFailure(req);
      res.status(401).type('html').send(loginPage(path, true));
      return;
    }
    res.cookie(COOKIE, sessionValue(token), {
      httpOnly: true,
      sameSite: 'strict',
      secure: req.secure,
      path: dashboardPath,
      maxAge: 12 * 3600 * 1000,
    });
    res.redirect(303, dashboardPath);
  });
  return router;
}
