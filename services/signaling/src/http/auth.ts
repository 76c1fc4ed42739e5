import { createHash, timingSafeEqual } from 'node:crypto';
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { UnauthorizedError } from './http-error.js';

/** Compares in constant time; hashing first makes the lengths equal so even they are not revealed. */
export function tokenMatches(candidate: string | undefined, expected: string): boolean {
  if (candidate === undefined) return false;
  const a = createHash('sha256').update(candidate).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(header);
  return match?.[1];
}

/** What a token lets its holder do: `admin` everything, `publish` WHIP and its own recordings, `view` reads. */
export type Role = 'admin' | 'publish' | 'view';

export interface AuthPolicy {
  /** the token of each role; none at all: no authentication (signaling then listens on loopback only) */
  tokens: Partial<Record<Role, string>>;
}

export function authEnabled(policy: AuthPolicy): boolean {
  return Object.values(policy.tokens).some((t) => t !== undefined);
}

const ROLES: readonly Role[] = ['admin', 'publish', 'view'];

/** The role a presented token grants; every configured token is compared so the timing does not tell which matched. */
export function roleOfToken(policy: AuthPolicy, candidate: string | undefined): Role | undefined {
  let found: Role | undefined;
  for (const role of ROLES) {
    const expected = policy.tokens[role];
    if (expected !== undefined && tokenMatches(candidate, expected) && found === undefined) found = role;
  }
  return found;
}

/** Who is making a request: a role, and the key fair shares and ownership are counted by. */
export interface Principal {
  role: Role;
  /** `token:<role>` for a token holder, `addr:<client address>` when the server runs without tokens */
  key: string;
}

/**
 * The principal of a request, or undefined when it presents no valid credentials. Without any token
 * configured everyone is admin (the service then only answers loopback names). A wrong header is not
 * rescued by anything else.
 */
export function principalOf(policy: AuthPolicy, request: { authorization?: string | undefined; clientAddress: string }): Principal | undefined {
  if (!authEnabled(policy)) return { role: 'admin', key: `addr:${request.clientAddress}` };
  const role = roleOfToken(policy, bearerToken(request.authorization));
  return role === undefined ? undefined : { role, key: `token:${role}` };
}

/** What a route requires; every route declares one (checked at start), so none is open by omission. */
export type RouteAccess = { open: true } | { roles: readonly Role[] };

const DECLARED = Symbol('route access');
type Declared = Middleware & { [DECLARED]?: RouteAccess };

/**
 * The first middleware of a route: authenticates the request against what this route (the one the router
 * matched, whatever the spelling of the URL) requires, and leaves the principal in `ctx.state.principal`.
 * `alternative` may admit a request on other grounds (a signed URL) when it has no valid Authorization.
 */
export function access(policy: AuthPolicy, required: RouteAccess, alternative?: (ctx: Context) => Principal | undefined): Middleware {
  const middleware: Declared = async (ctx, next) => {
    if (!('open' in required)) {
      const principal =
        principalOf(policy, { authorization: ctx.get('authorization') || undefined, clientAddress: ctx.ip }) ??
        (ctx.get('authorization') ? undefined : alternative?.(ctx));
      if (!principal || !required.roles.includes(principal.role)) throw new UnauthorizedError();
      ctx.state.principal = principal;
    }
    await next();
  };
  middleware[DECLARED] = required;
  return middleware;
}

/** The access a route declared, or undefined when its first middleware is not `access(...)`. */
export function declaredAccess(layer: { stack: readonly unknown[] }): RouteAccess | undefined {
  return (layer.stack[0] as Declared | undefined)?.[DECLARED];
}

/** Refuses to start with a route that does not say who may call it. */
export function assertEveryRouteDeclaresAccess(router: Router): void {
  for (const layer of router.stack) {
    if (layer.methods.length > 0 && declaredAccess(layer) === undefined)
      throw new Error(`route ${layer.methods.join(',')} ${String(layer.path)} declares no access`);
  }
}

/** The principal `access` authenticated; a handler behind `access` can rely on it. */
export function principal(ctx: Context): Principal {
  const value = ctx.state.principal as Principal | undefined;
  if (!value) throw new UnauthorizedError();
  return value;
}
