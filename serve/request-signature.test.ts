import { describe, expect, test } from "bun:test";
import { HttpError } from "./http-error.ts";
import { digestSignatureHeaders, requestSignature, SignatureCheck, signatureHeaders } from "./request-signature.ts";

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

  test("a request with no body takes no place of its client's, even when they are all taken", async () => {
    const check = new SignatureCheck(SECRET, 60, Date.now, undefined, { bodyTimeoutS: 60, bodiesPerClient: 1 });
    const stalled = heldRequest("/v1/jobs", signatureHeaders(SECRET, "POST", "/v1/jobs", "{}x"), "{}");
    const pending = outcome(check.verify(stalled.request, 65_536, "127.0.0.1"));
    expect(check.bodies.size.bodies).toBe(1);
    const get = new Request(`${URL_BASE}/v1/tools`, { headers: signatureHeaders(SECRET, "GET", "/v1/tools", "") });
    expect(await outcome(check.verify(get, 65_536, "127.0.0.1"))).toBe("passed");
    await stalled.send();
    expect(await pending).toMatch(/^401 the request signature does not match/);
    expect(check.bodies.size.bodies).toBe(0);
  });

  test("with x-org-content-sha256 the headers' signature is checked before the body, which must then match the digest", async () => {
    const check = new SignatureCheck(SECRET, 60, Date.now, undefined, { bodyTimeoutS: 60, bodiesPerClient: 1 });
    const body = JSON.stringify({ text: "by digest" });
    const signed = digestSignatureHeaders(SECRET, "POST", "/v1/jobs", body);
    // A made-up signature is refused with the body never sent (it would wait 60 s otherwise) and no place taken.
    const forged = heldRequest("/v1/jobs", { ...signed, "x-org-signature": `sha256=${"ab".repeat(32)}` }, body);
    expect(await outcome(check.verify(forged.request, 65_536, "10.0.0.1"))).toMatch(/^401 the request signature does not match; sign METHOD/);
    // A signed one takes no place while its body comes: the one place stays free.
    const real = heldRequest("/v1/jobs", signed, body);
    const passing = check.verify(real.request, 65_536, "10.0.0.1");
    expect(check.bodies.size.bodies).toBe(0);
    await real.send();
    expect(await (await passing).text()).toBe(body);
    // The same signed headers with another body: the digest is not the body's.
    const other = JSON.stringify({ text: "something else" });
    const swapped = heldRequest("/v1/jobs", digestSignatureHeaders(SECRET, "POST", "/v1/jobs", body, Date.now() + 1000), other);
    const refusing = outcome(check.verify(swapped.request, 65_536, "10.0.0.1"));
    await swapped.send();
    expect(await refusing).toMatch(/^401 the body's SHA-256 is not the x-org-content-sha256/);
    const malformed = new Request(`${URL_BASE}/v1/tools`, { headers: { ...signed, "x-org-content-sha256": "abc" } });
    expect(await outcome(check.verify(malformed, 65_536))).toMatch(/^401 x-org-content-sha256 is the body's SHA-256/);
  });

  test("neither kind of signature passes as the other", async () => {
    const check = new SignatureCheck(SECRET, 60);
    const body = "{}";
    const byDigest = digestSignatureHeaders(SECRET, "POST", "/v1/jobs", body);
    // The digest's signature with its header taken away and the signed text's tail sent as the body.
    const timestamp = byDigest["x-org-timestamp"] ?? "";
    const tail = ` content-sha256=${byDigest["x-org-content-sha256"]}\n`;
    const asBody = new Request(`${URL_BASE}/v1/jobs`, {
      method: "POST",
      headers: { "x-org-timestamp": timestamp, "x-org-signature": byDigest["x-org-signature"] ?? "" },
      body: tail,
    });
    expect(await outcome(check.verify(asBody, 65_536))).toMatch(/^401 the request signature does not match/);
    // A body signature presented with a digest header of the body it signed.
    const byBody = signatureHeaders(SECRET, "POST", "/v1/jobs", body);
    const digest = byDigest["x-org-content-sha256"] ?? "";
    const asDigest = new Request(`${URL_BASE}/v1/jobs`, { method: "POST", headers: { ...byBody, "x-org-content-sha256": digest }, body });
    expect(await outcome(check.verify(asDigest, 65_536))).toMatch(/^401 the request signature does not match/);
    expect(requestSignature(SECRET, "POST", "/v1/jobs", timestamp, new TextEncoder().encode(body))).not.toBe(
      (byDigest["x-org-signature"] ?? "").slice("sha256=".length),
    );
  });
});
