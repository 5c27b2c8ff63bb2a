import { describe, expect, test } from "bun:test";
import { HttpError } from "./http-error.ts";
import { refuseForeignCaller, refuseForeignOrigin } from "./host-origin-middleware.ts";

function thrown(run: () => unknown): HttpError {
  try {
    run();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error("nothing was thrown");
}

describe("Host and Origin checks", () => {
  test("a foreign Host or a web page's Origin is refused; loopback callers pass", () => {
    const at = (headers: Record<string, string>) => new Request("http://127.0.0.1:7001/v1/tools", { headers });
    expect(() => refuseForeignCaller(at({ host: "127.0.0.1:7001" }))).not.toThrow();
    expect(() => refuseForeignCaller(at({ host: "localhost:7001", origin: "http://localhost:3000" }))).not.toThrow();
    expect(thrown(() => refuseForeignCaller(at({ host: "evil.example" }))).status).toBe(403);
    expect(thrown(() => refuseForeignCaller(at({ host: "127.0.0.1:7001", origin: "https://evil.example" }))).status).toBe(403);
  });

  test("an action or a stream from another origin is refused, even another port of 127.0.0.1; the same origin and programs pass", () => {
    const at = (headers: Record<string, string>) =>
      new Request("http://127.0.0.1:7300/v1/sessions", { method: "POST", headers: { host: "127.0.0.1:7300", ...headers } });
    expect(() => refuseForeignOrigin(at({}))).not.toThrow();
    expect(() => refuseForeignOrigin(at({ origin: "http://127.0.0.1:7300", "sec-fetch-site": "same-origin" }))).not.toThrow();
    expect(thrown(() => refuseForeignOrigin(at({ origin: "http://127.0.0.1:9999" }))).status).toBe(403);
    expect(thrown(() => refuseForeignOrigin(at({ origin: "null" }))).status).toBe(403);
    expect(thrown(() => refuseForeignOrigin(at({ "sec-fetch-site": "same-site" }))).status).toBe(403);
    expect(thrown(() => refuseForeignOrigin(at({ "sec-fetch-site": "cross-site" }))).message).toContain("another site");
  });
});
