import { HttpError } from "./http-error.ts";
import { type Middleware, NO_HOST, type RouteContext } from "./router.ts";

const LOOPBACK_NAME = /^(127(\.\d{1,3}){3}|localhost|\[::1\])(:\d+)?$/i;

/** 403 unless the request names a loopback host and, when it has an Origin, comes from a loopback page. */
export function refuseForeignCaller(request: Request): void {
  const host = request.headers.get("host") ?? new URL(request.url).host;
  if (!LOOPBACK_NAME.test(host)) {
    throw new HttpError(
      403,
      `this server answers only requests to 127.0.0.1 or localhost (Host was ` +
        `${JSON.stringify(host.slice(0, 100))}); set ORG_API_TOKEN to serve other names.`,
    );
  }
  const origin = request.headers.get("origin");
  if (origin !== null && !(URL.canParse(origin) && LOOPBACK_NAME.test(new URL(origin).host))) {
    throw new HttpError(
      403,
      `requests from web pages (Origin ${JSON.stringify(origin.slice(0, 100))}) are refused; call the API from a program, or set ORG_API_TOKEN.`,
    );
  }
}

function portOf(host: string): string {
  return /:(\d+)$/.exec(host)?.[1] ?? "";
}

/**
 * 403 when the request has an Origin that is not this server's: neither the Host it was sent to (same
 * origin) nor a loopback name on the same port; or when the browser says it comes from another site or origin
 * (`Sec-Fetch-Site`). A program (neither header) passes. MCP's transport asks this of `/mcp` with or without a
 * token, and every state-changing request and event stream asks it too: a page elsewhere, even another port of
 * 127.0.0.1 (the same site, so the web room's SameSite cookie would go along), must not drive the room.
 */
export function refuseForeignOrigin(request: Request, path = new URL(request.url).pathname): void {
  const site = request.headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin" && site !== "none") {
    throw new HttpError(
      403,
      `requests from another ${site === "cross-site" ? "site" : "origin"} are refused on ` +
        `${path.slice(0, 100)}; use the page this server serves, or a program.`,
    );
  }
  const origin = request.headers.get("origin");
  if (origin === null) return;
  const host = (request.headers.get("host") ?? new URL(request.url).host).toLowerCase();
  const from = URL.canParse(origin) && /^https?:$/.test(new URL(origin).protocol) ? new URL(origin).host.toLowerCase() : undefined;
  const same = from !== undefined && (from === host || (LOOPBACK_NAME.test(from) && LOOPBACK_NAME.test(host) && portOf(from) === portOf(host)));
  if (!same) {
    throw new HttpError(
      403,
      `requests from another origin (Origin ${JSON.stringify(origin.slice(0, 100))}, this server is ` +
        `${JSON.stringify(host.slice(0, 100))}) are refused on ${path.slice(0, 100)}; connect from a program ` +
        `(without Origin) or a page this server serves.`,
    );
  }
}

/**
 * Whether a page elsewhere may never send this request: one that reads or changes the room (every route that asks for
 * auth, but the web room's page shell and bundle, which hold nothing of it and which a link elsewhere may open), a
 * request to no route, anything but GET and HEAD, and an event stream (an `Accept` that asks for one, or a stream
 * route whatever it accepts).
 */
function readsActsOrStreams(context: RouteContext): boolean {
  const { request, match } = context;
  if (request.method !== "GET" && request.method !== "HEAD") return true;
  if (match.route === undefined || match.route.stream || (match.route.auth && !match.route.page)) return true;
  return (request.headers.get("accept") ?? "").includes("text/event-stream");
}

/**
 * Host and Origin, before auth: a request without Host is 400; with `loopbackOnly` (no token), only requests
 * addressed to a loopback name and not sent by a web page elsewhere (DNS rebinding, cross-site POSTs); on a
 * path whose routes ask `sameOrigin` (`/mcp`), and for every request that reads or changes the room or opens an event
 * stream, no Origin but this server's and no `Sec-Fetch-Site` but `same-origin` or `none`, token or not.
 */
export function hostOriginMiddleware(options: { loopbackOnly: boolean }): Middleware {
  return async (context, next) => {
    // Before auth too: a request without Host is malformed whoever sends it.
    if (context.path === undefined) throw new HttpError(400, NO_HOST);
    if (options.loopbackOnly) refuseForeignCaller(context.request);
    if (context.match.onPath.some((entry) => entry.sameOrigin) || readsActsOrStreams(context)) refuseForeignOrigin(context.request, context.path);
    return next(context);
  };
}
