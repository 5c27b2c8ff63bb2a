import { describe, expect, test } from "bun:test";
import { HttpError } from "./http-error.ts";
import { refuseForeignCaller } from "./host-origin-middleware.ts";

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
});
