import { describe, expect, test } from "bun:test";
import { type PreparedRequest, PublicHttpRefusedError, prepareRequest, requestBytes } from "./public-http-request.ts";

const prepared = (changes: Partial<PreparedRequest> = {}): PreparedRequest => ({
  ...prepareRequest(new URL("https://api.test/x?q=1"), { method: "POST", headers: [["X-A", "1"]], body: Buffer.from("{}") }, "web_request"),
  ...changes,
});

describe("requestBytes: the one writer of a request's head", () => {
  test("writes the prepared headers in order, then the body", () => {
    expect(requestBytes(prepared()).toString("latin1")).toBe(
      "POST /x?q=1 HTTP/1.1\r\nHost: api.test\r\nUser-Agent: org-web-request/1\r\nAccept: */*\r\nAccept-Encoding: identity\r\n" +
        "Connection: close\r\nX-A: 1\r\nContent-Length: 2\r\n\r\n{}",
    );
  });

  // Whoever calls it: a unit past ASCII would lose its high byte (U+010D U+010A → CR LF), a control would reframe.
  test("throws on any unit outside what RFC 9110 allows, in the method, the target, a name or a value", () => {
    const refused: [string, Partial<PreparedRequest>][] = [
      ["value U+010D U+010A", { headers: [["X-A", "1\u010d\u010aHost: evil.test"]] }],
      ["value CR LF", { headers: [["X-A", "1\r\nHost: evil.test"]] }],
      ["value U+0100", { headers: [["X-A", "\u0100"]] }],
      ["value ESC", { headers: [["X-A", "\u001b[2J"]] }],
      ["name U+0130", { headers: [["X-\u0130", "1"]] }],
      ["name with a space", { headers: [["X A", "1"]] }],
      ["empty name", { headers: [["", "1"]] }],
      ["method U+0100", { method: "P\u0100ST" }],
      ["method with a space", { method: "POST /evil HTTP/1.1\r\n" }],
      ["target with a space", { target: "/a b" }],
      ["target U+010A", { target: "/a\u010a" }],
    ];
    for (const [name, changes] of refused) {
      let thrown: unknown;
      try {
        requestBytes(prepared(changes));
      } catch (error) {
        thrown = error;
      }
      expect([name, thrown instanceof PublicHttpRefusedError]).toEqual([name, true]);
    }
  });

  test("a URL's own characters past ASCII reach the target percent-encoded, never as raw units", () => {
    const written = requestBytes(prepared({ ...prepareRequest(new URL("https://api.test/\u010d\u010a?x=\u00e9"), { method: "GET" }, "web_fetch") }));
    expect(written.toString("latin1").split("\r\n")[0]).toBe("GET /%C4%8D%C4%8A?x=%C3%A9 HTTP/1.1");
  });
});
