import { describe, expect, test } from "bun:test";
import { seededFractions } from "../testing/seeded-random.ts";
import { errorMiddleware } from "./error-middleware.ts";
import { createRouter, matchedPattern, matchRoute, type Route, route, routeListing, routesLoadedOnUse, UndeclaredRoutesError } from "./router.ts";

const noop = () => new Response("");

async function errorOf(response: Response): Promise<{ status: number; message: string }> {
  return ((await response.json()) as { error: { status: number; message: string } }).error;
}

describe("the router", () => {
  test("a path and method name one route, its parameters decoded (bad percent-encoding kept as it came)", () => {
    const run = route("POST", "/v1/tools/:name/run", noop);
    const events = route("GET", "/v1/jobs/:id/events", noop);
    const routes = [run, events];
    expect(matchRoute(routes, "POST", "/v1/tools/word%5Fcount/run")).toEqual({ route: run, onPath: [run], params: { name: "word_count" } });
    expect(matchRoute(routes, "GET", "/v1/jobs/%E0%A4%A/events").params).toEqual({ id: "%E0%A4%A" });
    expect(matchRoute(routes, "GET", "/v1/tools/a/b/run").onPath).toEqual([]);
  });

  test("a handler's parameters are typed from its pattern: each :name is a string, any other name a type error", async () => {
    const seen: string[] = [];
    const events = route("GET", "/v1/sessions/:id/approvals/:approval", ({ params }) => {
      seen.push(`${params.id.toUpperCase()} ${params.approval}`);
      // @ts-expect-error the pattern names no :name
      seen.push(String(params.name));
      return new Response("");
    });
    await createRouter([events], [])(new Request("http://127.0.0.1/v1/sessions/s-1/approvals/a%2D2"));
    expect(seen).toEqual(["S-1 a-2", "undefined"]);
    const plain = route("GET", "/health", ({ params }) => {
      // @ts-expect-error a pattern without :name parts has no parameters
      return new Response(params.id);
    });
    expect(plain.pattern).toBe("/health");
  });

  test("metrics count by pattern (a wrong method too), never by raw path", () => {
    const routes = [route("GET", "/v1/jobs/:id", noop)];
    expect(matchedPattern(matchRoute(routes, "GET", "/v1/jobs/job-12345678"))).toBe("/v1/jobs/:id");
    expect(matchedPattern(matchRoute(routes, "PUT", "/v1/jobs/job-12345678"))).toBe("/v1/jobs/:id");
    expect(matchedPattern(matchRoute(routes, "GET", "/random/scan/path"))).toBe("unmatched");
  });

  test("an unknown path is 404 listing every route; a known one with another method is 405 with Allow", async () => {
    const routes = [route("GET", "/health", noop), route(["POST", "GET", "DELETE"], "/mcp", noop), route("GET", "/v1/models/:id", noop)];
    const fetch = createRouter(routes, [errorMiddleware(() => {})]);
    const missing = await fetch(new Request("http://127.0.0.1/nope"));
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).message).toBe(
      "no route /nope; the routes are GET /health, POST /mcp, GET /mcp, DELETE /mcp, GET /v1/models/:id.",
    );
    const wrong = await fetch(new Request("http://127.0.0.1/mcp", { method: "PUT" }));
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST, GET, DELETE");
    expect(routeListing(routes)).toHaveLength(5);
  });

  test("a route declared twice, or a pattern that is not /segment/:param, is refused when the table is made", () => {
    expect(() => createRouter([route("GET", "/a", noop), route(["POST", "GET"], "/a", noop)], [])).toThrow(/GET \/a is declared twice/);
    for (const pattern of ["a", "/a/", "/a//b", "/a/*", "/a/(.*)", "/:"]) expect(() => route("GET", pattern, noop)).toThrow(/not \/segment/);
  });

  test("middleware runs outermost first, around the 404 too, and may hand the handler a changed request", async () => {
    const seen: string[] = [];
    const fetch = createRouter(
      [route("GET", "/a", ({ request }) => new Response(request.headers.get("x-added")))],
      [
        async (context, next) => {
          seen.push(`outer ${context.path}`);
          return next(context);
        },
        async (context, next) => next({ ...context, request: new Request(context.request, { headers: { "x-added": "yes" } }) }),
      ],
    );
    expect(await (await fetch(new Request("http://127.0.0.1/a"))).text()).toBe("yes");
    await expect(fetch(new Request("http://127.0.0.1/b"))).rejects.toMatchObject({ status: 404 });
    expect(seen).toEqual(["outer /a", "outer /b"]);
  });

  // Property: whatever path comes, a handler runs only when an independent reading of the table (segment by
  // segment) says the path and method are that route's; everything else is the router's 404 or 405.
  test("no path outside the table reaches a handler (4000 seeded paths near the table's)", async () => {
    const patterns = ["/health", "/v1/messages", "/v1/jobs", "/v1/jobs/:id", "/v1/jobs/:id/events", "/v1/tools/:name/run", "/v1/models/:id", "/mcp"];
    const reached: string[] = [];
    const routes: Route[] = patterns.map((pattern) =>
      route(pattern === "/mcp" ? ["GET", "POST"] : "GET", pattern, ({ params }) => {
        reached.push(pattern);
        return Response.json(params);
      }),
    );
    const fetch = createRouter(routes, [errorMiddleware(() => {})]);
    const fits = (pattern: string, path: string) => {
      const want = pattern.split("/");
      const got = path.split("/");
      return want.length === got.length && want.every((part, index) => (part.startsWith(":") ? (got[index] ?? "") !== "" : part === got[index]));
    };
    const random = seededFractions(35);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const pieces = [
      "",
      "x",
      "..",
      ".",
      "%2F",
      "%2e%2e",
      "HEALTH",
      "health",
      "v1",
      "jobs",
      "events",
      "run",
      "mcp",
      "a b",
      "%00",
      "/",
      "//",
      ";",
      "?q=/health",
    ];
    let inside = 0;
    for (let index = 0; index < 4000; index += 1) {
      let path = pick(patterns).replace(/:\w+/g, () => pick(["id-1", "x", "%2F", "..", "a%20b"]));
      const edits = Math.floor(random() * 3);
      for (let edit = 0; edit < edits; edit += 1) {
        const at = Math.floor(random() * (path.length + 1));
        path = random() < 0.3 ? path.slice(0, at) + path.slice(at + 1) : path.slice(0, at) + pick(pieces) + path.slice(at);
      }
      if (!path.startsWith("/")) path = `/${path}`;
      const method = pick(["GET", "POST", "DELETE"]);
      const request = new Request(`http://127.0.0.1${path}`, { method });
      // What the server will see after URL parsing (dot segments resolved, `?` starting the query).
      const seenPath = new URL(request.url).pathname;
      const owner = patterns.find((pattern) => fits(pattern, seenPath));
      const allowed = owner !== undefined && (owner === "/mcp" ? ["GET", "POST"] : ["GET"]).includes(method);
      reached.length = 0;
      const response = await fetch(request);
      if (allowed) {
        inside += 1;
        expect(reached).toEqual([owner]);
        expect(response.status).toBe(200);
      } else {
        expect(reached).toEqual([]);
        expect(response.status).toBe(owner === undefined ? 404 : 405);
      }
    }
    // Both sides of the property were tried, not only 404s.
    expect(inside).toBeGreaterThan(400);
    expect(inside).toBeLessThan(3600);
  });

  test("routes loaded on use: matched as declared before their code loads, loaded once, on the first request", async () => {
    let loads = 0;
    const routes = routesLoadedOnUse(
      [
        ["GET", "/v1/things"],
        ["POST", "/v1/things/:id/poke"],
      ],
      async () => {
        loads += 1;
        return [
          route("GET", "/v1/things", () => Response.json(["a"])),
          route("POST", "/v1/things/:id/poke", ({ params }) => new Response(`poked ${params.id}`)),
        ];
      },
    );
    const fetch = createRouter(routes, [errorMiddleware(() => {})]);
    expect(routeListing(routes)).toEqual(["GET /v1/things", "POST /v1/things/:id/poke"]);
    expect((await fetch(new Request("http://127.0.0.1/v1/things/x/poke"))).status).toBe(405);
    expect(loads).toBe(0);
    const [first, second] = await Promise.all([fetch(new Request("http://127.0.0.1/v1/things")), fetch(new Request("http://127.0.0.1/v1/things"))]);
    expect([await first?.json(), await second?.json()]).toEqual([["a"], ["a"]]);
    expect(await (await fetch(new Request("http://127.0.0.1/v1/things/b%20c/poke", { method: "POST" }))).text()).toBe("poked b c");
    expect(loads).toBe(1);
  });

  test("routes loaded on use that serve other routes than declared, or with other options, are a 500 naming both", async () => {
    const served = (routes: Route[]) =>
      createRouter(
        routesLoadedOnUse([["GET", "/v1/things"]], async () => routes),
        [errorMiddleware(() => {})],
      );
    const other = served([route("GET", "/v1/things", noop), route("GET", "/v1/other", noop)]);
    const response = await other(new Request("http://127.0.0.1/v1/things"));
    expect(response.status).toBe(500);
    const unauthenticated = served([route("GET", "/v1/things", noop, { auth: false })]);
    expect((await unauthenticated(new Request("http://127.0.0.1/v1/things"))).status).toBe(500);
    const error = new UndeclaredRoutesError(["GET /v1/things"], ["GET /v1/other", "GET /v1/things"]);
    expect(error.message).toBe("routes loaded on use declared GET /v1/things but serve GET /v1/other, GET /v1/things; make the declaration match.");
  });

  test("a load that fails is a 500 for that request, and the next request loads again", async () => {
    let loads = 0;
    const routes = routesLoadedOnUse([["GET", "/v1/things"]], async () => {
      loads += 1;
      if (loads === 1) throw new Error("the module failed to load");
      return [route("GET", "/v1/things", () => new Response("ok"))];
    });
    const fetch = createRouter(routes, [errorMiddleware(() => {})]);
    expect((await fetch(new Request("http://127.0.0.1/v1/things"))).status).toBe(500);
    expect(await (await fetch(new Request("http://127.0.0.1/v1/things"))).text()).toBe("ok");
    expect(loads).toBe(2);
  });
});
