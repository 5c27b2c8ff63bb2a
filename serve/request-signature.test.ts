import { describe, expect, test } from "bun:test";
import { HttpError } from "./http-error.ts";
import { SignatureCheck, signatureHeaders } from "./request-signature.ts";

const SECRET = "hmac-secret-for-signature-check-7";
const URL_BASE = "http://127.0.0.1:7001";

/** A POST whose body arrives only when the test says: `send` writes it whole and ends it. */
function heldRequest(path: string, headers: Record<string, string>, body: string) {
  const bytes = new TextEncoder().encode(body);
  const stream = Promise.withResolvers<ReadableStreamDefaultController<Uint8Array>>();
  const request = new Request(`${URL_BASE}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "content-length": String(bytes.byteLength), ...headers },
    body: new ReadableStream<Uint8Array>({ start: (controller) => stream.resolve(controller) }),
  });
  return {
    request,
    async send() {
      const controller = await stream.promise;
      controller.enqueue(bytes);
      controller.close();
    },
  };
}

async function outcome(verifying: Promise<Request>): Promise<string> {
  return verifying.then(
    () => "passed",
    (error: unknown) => (error instanceof HttpError ? `${error.status} ${error.message}` : String(error)),
  );
}

describe("SignatureCheck", () => {
  test("copies of one signed request whose bodies arrive together pass once: the rest are replays (issue 74, B1)", async () => {
    const check = new SignatureCheck(SECRET, 60);
    const body = JSON.stringify({ text: "one job" });
    const headers = signatureHeaders(SECRET, "POST", "/v1/jobs", body);
    const copies = Array.from({ length: 5 }, () => heldRequest("/v1/jobs", headers, body));
    // All five pass the headers' look (no replay seen yet) and wait on their bodies…
    const verifying = copies.map((copy) => outcome(check.verify(copy.request, 65_536, "10.0.0.1")));
    expect(check.bodies.size).toEqual({ bodies: 5, clients: 1 });
    // …which then all arrive at once.
    for (const copy of copies) await copy.send();
    const results = await Promise.all(verifying);
    expect(results.filter((result) => result === "passed")).toHaveLength(1);
    expect(results.filter((result) => /^401 .*a replay/.test(result))).toHaveLength(4);
  });
});
