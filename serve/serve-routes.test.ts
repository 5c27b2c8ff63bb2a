import { describe, expect, test } from "bun:test";
import { HttpError } from "./http-error.ts";
import { matchRoute, refuseForeignCaller, ROUTES, routePattern } from "./serve-routes.ts";

function thrown(run: () => unknown): HttpError {
  try {
    run();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error("nothing was thrown");
}

describe("serve's routes", () => {
  test("a path and method name one route, its parameters decoded (bad percent-encoding kept as it came)", () => {
    expect(matchRoute("POST", "/v1/tools/word%5Fcount/run")).toEqual({ route: ROUTES.toolRun, params: { name: "word_count" } });
    expect(matchRoute("GET", "/v1/jobs/%E0%A4%A/events").params).toEqual({ id: "%E0%A4%A" });
  });

  test("an unknown path is 404 listing the routes; a known one with another method is 405 with Allow", () => {
    const missing = thrown(() => matchRoute("GET", "/nope"));
    expect(missing.status).toBe(404);
    expect(missing.message).toContain("POST /v1/messages");
    const wrong = thrown(() => matchRoute("DELETE", "/v1/tools"));
    expect(wrong.status).toBe(405);
    expect(wrong.headers).toEqual({ allow: "GET" });
  });

  test("metrics count by pattern, never by raw path", () => {
    expect(routePattern("/v1/jobs/job-12345678")).toBe("/v1/jobs/:id");
    expect(routePattern("/random/scan/path")).toBe("unmatched");
  });

  test("a foreign Host or a web page's Origin is refused; loopback callers pass", () => {
    const at = (headers: Record<string, string>) => new Request("http://127.0.0.1:7001/v1/tools", { headers });
    expect(() => refuseForeignCaller(at({ host: "127.0.0.1:7001" }))).not.toThrow();
    expect(() => refuseForeignCaller(at({ host: "localhost:7001", origin: "http://localhost:3000" }))).not.toThrow();
    expect(thrown(() => refuseForeignCaller(at({ host: "evil.example" }))).status).toBe(403);
    expect(thrown(() => refuseForeignCaller(at({ host: "127.0.0.1:7001", origin: "https://evil.example" }))).status).toBe(403);
  });
});
