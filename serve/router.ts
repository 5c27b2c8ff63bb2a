import { HttpError } from "./http-error.ts";

/**
 * What the middleware and a route's handler see of one request. A middleware hands the next one a changed
 * copy: auth a verified request, the request-id middleware the id.
 */
export type RouteContext = {
  readonly request: Request;
  /** Set by the request-id middleware; empty before it ran. */
  readonly requestId: string;
  /** The URL's path; undefined when the request has no parseable URL (HTTP/1.0 without Host). */
  readonly path: string | undefined;
  readonly match: RouteMatch;
  /** The matched route's `:name` parameters, decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** The address the request came from (the socket's peer); undefined when the handler is called without a socket. */
  readonly client: string | undefined;
};

/** The `:name` parts of a route pattern, as a union of names: `"/v1/jobs/:id/events"` → `"id"`. */
export type PatternParamNames<Pattern extends string> = Pattern extends `${string}:${infer Name}/${infer Rest}`
  ? Name | PatternParamNames<`/${Rest}`>
  : Pattern extends `${string}:${infer Name}`
    ? Name
    : never;

/** A route's parameters, typed from its pattern: `"/v1/jobs/:id"` gives `{ id: string }`. */
export type RouteParams<Pattern extends string> = { readonly [Name in PatternParamNames<Pattern>]: string };

/** What a route's handler sees: the request's context with the parameters its own pattern names. */
export type RouteRequest<Pattern extends string> = Omit<RouteContext, "params"> & { readonly params: RouteParams<Pattern> };

export type RouteHandler = (context: RouteContext) => Response | Promise<Response>;

export type Middleware = (context: RouteContext, next: (context: RouteContext) => Promise<Response>) => Promise<Response>;

export type Route = {
  readonly methods: readonly string[];
  readonly pattern: string;
  readonly handler: RouteHandler;
  /** false: answered without a token (only `/health`). */
  readonly auth: boolean;
  /** An Origin other than this server's is refused on this path before auth (MCP's transport asks it of `/mcp`). */
  readonly sameOrigin: boolean;
  /**
   * A page of the web room (its shell or its bundle, nothing of the room): opened with `?token=…`, it logs the browser
   * in (a session cookie) and drops the token; the cookie alone lets it be read.
   */
  readonly page: boolean;
  /** An event stream: the web room's page, which cannot set a header on it, opens it with a ticket (`?ticket=`). */
  readonly stream: boolean;
  /** The `:name` parameters, decoded, when the path fits the pattern; undefined otherwise. */
  params(path: string): Record<string, string> | undefined;
};

/**
 * The routes a path fits (`onPath`, any method) and the one of them that takes the request's method, with its
 * parameters; `route` is undefined for an unknown path (404) or a known one with another method (405).
 */
export type RouteMatch = { route: Route | undefined; onPath: readonly Route[]; params: Record<string, string> };

/** A path segment decoded; one that is not valid percent-encoding stays as it came (no tool has such a name). */
function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Whether `params` holds every name of `names`: what the router matched for a pattern, told to the type checker. */
function holdsParams<Pattern extends string>(params: Readonly<Record<string, string>>, names: readonly string[]): params is RouteParams<Pattern> {
  return names.every((name) => typeof params[name] === "string");
}

/**
 * A route whose `:name` parts match one path segment each (never a `/`), handed over decoded; the rest matches exactly.
 * The handler's `params` are typed from the pattern: `route("GET", "/v1/jobs/:id", ({ params }) => … params.id …)`.
 */
export function route<const Pattern extends string>(
  methods: string | readonly string[],
  pattern: Pattern,
  handler: (context: RouteRequest<Pattern>) => Response | Promise<Response>,
  options: { auth?: boolean; sameOrigin?: boolean; page?: boolean; stream?: boolean } = {},
): Route {
  if (pattern !== "/" && !/^(\/([\w.-]+|:\w+))+$/.test(pattern))
    throw new Error(`route pattern ${JSON.stringify(pattern)} is not /segment/:param/…; write it as one.`);
  const names: string[] = [];
  const regex = new RegExp(
    `^${pattern.replace(/\./g, "\\.").replace(/:(\w+)/g, (_, name: string) => {
      names.push(name);
      return "([^/]+)";
    })}$`,
  );
  return {
    methods: typeof methods === "string" ? [methods] : [...methods],
    pattern,
    handler: (context) => {
      const { params } = context;
      // The router calls a handler only for a path its pattern matched, so every name is there.
      if (!holdsParams<Pattern>(params, names)) throw new Error(`the route ${pattern} was called for a path it does not match`);
      return handler({ ...context, params });
    },
    auth: options.auth ?? true,
    sameOrigin: options.sameOrigin ?? false,
    page: options.page ?? false,
    stream: options.stream ?? false,
    params(path) {
      const found = regex.exec(path);
      return found ? Object.fromEntries(names.map((name, index) => [name, decodePart(found[index + 1] ?? "")])) : undefined;
    },
  };
}

/** A route as the router's table knows it before its code is loaded: one method and its pattern. */
export type DeclaredRoute = readonly [method: string, pattern: string];

/** Thrown when a group loaded on use serves other routes than it declared: a programming error, found by its test. */
export class UndeclaredRoutesError extends Error {
  constructor(declared: readonly string[], loaded: readonly string[]) {
    super(`routes loaded on use declared ${declared.join(", ")} but serve ${loaded.join(", ")}; make the declaration match.`);
    this.name = "UndeclaredRoutesError";
  }
}

/** `routes` as `METHOD /pattern` lines with what the router does before their handler (auth, origin, page). */
function routeSignature(routes: readonly Route[]): string[] {
  return routes
    .flatMap((entry) =>
      entry.methods.map(
        (method) =>
          `${method} ${entry.pattern}${entry.auth ? "" : " (no auth)"}${entry.sameOrigin ? " (same origin)" : ""}${entry.page ? " (page)" : ""}` +
          `${entry.stream ? " (stream)" : ""}`,
      ),
    )
    .sort();
}

/**
 * Routes whose code is loaded on the first request to one of them, so a server that is never asked for them never
 * loads their modules. `declared` is what the router matches before then (each with the default options: auth, no
 * origin check, no page, no stream); `load` gives the routes themselves once, which must serve exactly those.
 */
export function routesLoadedOnUse(declared: readonly DeclaredRoute[], load: () => Promise<readonly Route[]>): Route[] {
  let loaded: Promise<readonly Route[]> | undefined;
  const expected = declared.map(([method, pattern]) => `${method} ${pattern}`).sort();
  const loadChecked = async () => {
    const routes = await load();
    const served = routeSignature(routes);
    if (served.join("\n") !== expected.join("\n")) throw new UndeclaredRoutesError(expected, served);
    return routes;
  };
  return declared.map(([method, pattern]) =>
    route(method, pattern, async (context) => {
      // A failed load is tried again by the next request rather than kept.
      if (loaded === undefined) {
        loaded = loadChecked();
        loaded.catch(() => {
          loaded = undefined;
        });
      }
      const routes = await loaded;
      const target = routes.find((entry) => entry.pattern === pattern && entry.methods.includes(method));
      if (target === undefined) throw new UndeclaredRoutesError(expected, routeSignature(routes));
      return target.handler(context);
    }),
  );
}

/** The route of a method and path: the first declared one that fits both. */
export function matchRoute(routes: readonly Route[], method: string, path: string): RouteMatch {
  const onPath = routes.filter((candidate) => candidate.params(path) !== undefined);
  const found = onPath.find((candidate) => candidate.methods.includes(method));
  return { route: found, onPath, params: found?.params(path) ?? {} };
}

/** The pattern metrics count a request under (never the raw path: a scan of random paths adds one series). */
export function matchedPattern(match: RouteMatch): string {
  return match.route?.pattern ?? match.onPath[0]?.pattern ?? "unmatched";
}

/** Every route as `METHOD /pattern`, in the table's order: what a 404 lists. */
export function routeListing(routes: readonly Route[]): string[] {
  return routes.flatMap((entry) => entry.methods.map((method) => `${method} ${entry.pattern}`));
}

/** Why a request without a URL (HTTP/1.0 without Host: Bun hands over no origin) is refused. */
export const NO_HOST = "the request has no Host header (HTTP/1.0 without Host?); send 'Host: 127.0.0.1:<port>' or use HTTP/1.1.";

const NO_MATCH: RouteMatch = { route: undefined, onPath: [], params: {} };

/** What answers when no route took the request: 400 without a URL, 404 listing the routes, 405 with Allow. */
function refusal(routes: readonly Route[], context: RouteContext): never {
  const { path, match, request } = context;
  if (path === undefined) throw new HttpError(400, NO_HOST);
  if (match.onPath.length === 0) throw new HttpError(404, `no route ${path.slice(0, 200)}; the routes are ${routeListing(routes).join(", ")}.`);
  const allowed = [...new Set(match.onPath.flatMap((entry) => entry.methods))].join(", ");
  throw new HttpError(405, `${request.method.slice(0, 20)} is not allowed on ${path.slice(0, 200)}; use ${allowed}.`, { allow: allowed });
}

/**
 * One `(Request) → Response` from a route table and middleware (outermost first). The request is matched once,
 * before the middleware: a route's handler runs only for its own methods and pattern, and anything else ends
 * in the table's 404 or 405, behind the same middleware (so auth still comes before a 404).
 */
export function createRouter(routes: readonly Route[], middleware: readonly Middleware[]): (request: Request, client?: string) => Promise<Response> {
  const declared = new Set<string>();
  for (const entry of routes) {
    for (const method of entry.methods) {
      const key = `${method} ${entry.pattern}`;
      if (declared.has(key)) throw new Error(`the route ${key} is declared twice; keep one.`);
      declared.add(key);
    }
  }
  const end = async (context: RouteContext) => (context.match.route ? context.match.route.handler(context) : refusal(routes, context));
  const chain = middleware.reduceRight<(context: RouteContext) => Promise<Response>>((next, layer) => (context) => layer(context, next), end);
  return (request, client) => {
    const path = URL.canParse(request.url) ? new URL(request.url).pathname : undefined;
    const match = path === undefined ? NO_MATCH : matchRoute(routes, request.method, path);
    return chain({ request, requestId: "", path, match, params: match.params, client });
  };
}
