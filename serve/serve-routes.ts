import { HttpError } from "./http-error.ts";

/** A path segment decoded; one that is not valid percent-encoding stays as it came (no tool has such a name). */
function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

export type Route = { pattern: string; method: string; match: (path: string) => Record<string, string> | undefined };

/** A route whose `:name` parts match one path segment each, handed over decoded. */
export function route(method: string, pattern: string): Route {
  const names: string[] = [];
  const regex = new RegExp(
    `^${pattern.replace(/:(\w+)/g, (_, name: string) => {
      names.push(name);
      return "([^/]+)";
    })}$`,
  );
  return {
    pattern,
    method,
    match: (path) => {
      const found = regex.exec(path);
      return found ? Object.fromEntries(names.map((name, index) => [name, decodePart(found[index + 1] ?? "")])) : undefined;
    },
  };
}

export const ROUTES = {
  health: route("GET", "/health"),
  messages: route("POST", "/v1/messages"),
  tools: route("GET", "/v1/tools"),
  toolRun: route("POST", "/v1/tools/:name/run"),
  metrics: route("GET", "/metrics"),
  reload: route("POST", "/v1/admin/reload"),
  jobs: route("POST", "/v1/jobs"),
  job: route("GET", "/v1/jobs/:id"),
  jobEvents: route("GET", "/v1/jobs/:id/events"),
  models: route("GET", "/v1/models"),
  model: route("GET", "/v1/models/:id"),
  chatCompletions: route("POST", "/v1/chat/completions"),
  mcpPost: route("POST", "/mcp"),
  mcpGet: route("GET", "/mcp"),
  mcpDelete: route("DELETE", "/mcp"),
};

/** The route a path and method name with its parameters; 404 or 405 (with Allow) when none does. */
export function matchRoute(method: string, path: string): { route: Route; params: Record<string, string> } {
  const matched = Object.values(ROUTES).filter((candidate) => candidate.match(path));
  const found = matched.find((candidate) => candidate.method === method);
  if (!found) {
    if (matched.length === 0)
      throw new HttpError(
        404,
        `no route ${path.slice(0, 200)}; the routes are GET /health, POST /v1/messages, POST /v1/jobs, GET /v1/jobs/:id, GET /v1/jobs/:id/events, GET /v1/tools, POST /v1/tools/:name/run, GET /metrics, POST /v1/admin/reload, GET /v1/models, POST /v1/chat/completions, /mcp.`,
      );
    const allowed = matched.map((candidate) => candidate.method).join(", ");
    throw new HttpError(405, `${method} is not allowed on ${path.slice(0, 200)}; use ${allowed}.`, { allow: allowed });
  }
  return { route: found, params: found.match(path) ?? {} };
}

/** The pattern metrics count a path under (never the raw path: a scan of random paths adds one series). */
export function routePattern(path: string): string {
  return Object.values(ROUTES).find((candidate) => candidate.match(path))?.pattern ?? "unmatched";
}

const LOOPBACK_NAME = /^(127(\.\d{1,3}){3}|localhost|\[::1\])(:\d+)?$/i;

/** 403 unless the request names a loopback host and, when it has an Origin, comes from a loopback page. */
export function refuseForeignCaller(request: Request): void {
  const host = request.headers.get("host") ?? new URL(request.url).host;
  if (!LOOPBACK_NAME.test(host)) {
    throw new HttpError(
      403,
      `this server answers only requests to 127.0.0.1 or localhost (Host was ${JSON.stringify(host.slice(0, 100))}); set ORG_API_TOKEN to serve other names.`,
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
 * origin) nor a loopback name on the same port. A program (no Origin) passes. MCP's transport asks this of
 * `/mcp` with or without a token: a page elsewhere must not drive the user's MCP session.
 */
export function refuseForeignOrigin(request: Request): void {
  const origin = request.headers.get("origin");
  if (origin === null) return;
  const host = (request.headers.get("host") ?? new URL(request.url).host).toLowerCase();
  const from = URL.canParse(origin) && /^https?:$/.test(new URL(origin).protocol) ? new URL(origin).host.toLowerCase() : undefined;
  const same = from !== undefined && (from === host || (LOOPBACK_NAME.test(from) && LOOPBACK_NAME.test(host) && portOf(from) === portOf(host)));
  if (!same) {
    throw new HttpError(
      403,
      `requests from another origin (Origin ${JSON.stringify(origin.slice(0, 100))}, this server is ${JSON.stringify(host.slice(0, 100))}) are refused on /mcp; connect from a program (without Origin) or a page this server serves.`,
    );
  }
}
