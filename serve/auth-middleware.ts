import type { requestAuth } from "./request-auth.ts";
import type { Middleware } from "./router.ts";

/**
 * The bearer token or request signature (`requestAuth`) on every request but a route declared without auth:
 * an unknown path or a wrong method is asked for it too, so only a caller with the token sees the 404's list. A page
 * of the web room opened with `?token=…` is the browser's login.
 */
export function authMiddleware(auth: ReturnType<typeof requestAuth>): Middleware {
  return async (context, next) => {
    if (context.match.route?.auth === false) return next(context);
    if (context.match.route?.page && context.request.method === "GET") {
      const login = auth.login(context.request);
      if (login) return login;
    }
    // A signed request comes back with its body still readable (the signature covered it).
    const access = { page: context.match.route?.page ?? false, stream: context.match.route?.stream ?? false };
    return next({ ...context, request: await auth.check(context.request, access, context.client) });
  };
}
