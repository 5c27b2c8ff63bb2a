import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { REDACTED, redact } from "./redact.ts";
import { type OutboundRequest, outboundRefusal, scanOutbound } from "./scan-outbound.ts";

/** A request as web_request writes one: org's own headers first, then the given ones. */
function request(url: string, headers: [string, string][] = [], body?: string): OutboundRequest {
  const parsed = new URL(url);
  return {
    method: "POST",
    url: parsed,
    headers: [
      ["Host", parsed.host],
      ["User-Agent", "org-web-request/1"],
      ["Accept", "*/*"],
      ["Accept-Encoding", "identity"],
      ["Connection", "close"],
      ...headers,
      ...(body !== undefined ? [["Content-Length", String(Buffer.byteLength(body))] as [string, string]] : []),
    ],
    ...(body !== undefined ? { body: new TextEncoder().encode(body) } : {}),
  };
}

const percentAll = (text: string, upper: boolean) => {
  const encoded = Buffer.from(text).toString("hex").replace(/../g, "%$&");
  return upper ? encoded.toUpperCase() : encoded;
};
const utf16be = (text: string) => Buffer.from(text, "utf16le").swap16();

// How a model may write a piece of a secret so that a server reads it back exactly.
const ENCODINGS: readonly { name: string; encode: (text: string, seed: number) => string }[] = [
  { name: "as it is", encode: (text) => text },
  { name: "every byte percent-encoded", encode: (text) => percentAll(text, false) },
  { name: "every byte percent-encoded, upper case", encode: (text) => percentAll(text, true) },
  {
    name: "some bytes percent-encoded",
    encode: (text, seed) =>
      [...text].map((character, index) => ((seed >> (index % 30)) & 1 ? percentAll(character, index % 2 === 0) : character)).join(""),
  },
  { name: "percent-encoded twice", encode: (text) => percentAll(text, false).replaceAll("%", "%25") },
  { name: "base64 of UTF-8", encode: (text) => Buffer.from(text).toString("base64") },
  { name: "base64url of UTF-8", encode: (text) => Buffer.from(text).toString("base64url") },
  { name: "base64 of UTF-16LE", encode: (text) => Buffer.from(text, "utf16le").toString("base64") },
  { name: "base64 of UTF-16BE", encode: (text) => utf16be(text).toString("base64") },
  { name: "hex of UTF-8", encode: (text) => Buffer.from(text).toString("hex") },
  { name: "hex of UTF-16LE", encode: (text) => Buffer.from(text, "utf16le").toString("hex") },
];

type Parts = { path: string[]; query: [string, string][]; headers: [string, string][]; json: Record<string, string>; form?: string; raw?: string };
// Where a piece goes: a path segment, a query value, a header's value, a JSON key or value, a form field, the raw body.
const PLACES = ["path", "query", "header", "json key", "json value", "form", "raw body"] as const;
type Place = (typeof PLACES)[number];

function place(parts: Parts, where: Place, text: string, index: number): void {
  if (where === "path") parts.path.push(text);
  else if (where === "query") parts.query.push([`q${index}`, text]);
  else if (where === "header") parts.headers.push([`X-Data-${index}`, text]);
  else if (where === "json key") parts.json[text] = `v${index}`;
  else if (where === "json value") parts.json[`k${index}`] = text;
  else if (where === "form") parts.form = `${parts.form ? `${parts.form}&` : ""}f${index}=${encodeURIComponent(text)}`;
  else parts.raw = `${parts.raw ?? ""}note ${index}: ${text}\n`;
}

/** The request that carries `parts`: a form (a JSON body and a raw text as two of its fields), a JSON body, a raw text, or none. */
function built(parts: Parts): OutboundRequest {
  const query = parts.query.map(([name, value]) => `${name}=${value}`).join("&");
  const url = `https://api.test/v1/${parts.path.join("/")}${query ? `?${query}` : ""}`;
  const json = Object.keys(parts.json).length > 0 ? JSON.stringify(parts.json) : undefined;
  const fields = [parts.form, json && `json=${encodeURIComponent(json)}`, parts.raw && `raw=${encodeURIComponent(parts.raw)}`].filter(Boolean);
  const [body, type] =
    parts.form !== undefined
      ? [fields.join("&"), "application/x-www-form-urlencoded"]
      : json !== undefined
        ? [parts.raw === undefined ? json : JSON.stringify({ ...parts.json, raw: parts.raw }), "application/json"]
        : [parts.raw, "text/plain"];
  return request(url, [...parts.headers, ...(body !== undefined ? [["Content-Type", type] as [string, string]] : [])], body);
}

const secret = fc
  .stringMatching(/^[A-Za-z0-9][A-Za-z0-9_@.+/=:-]{11,39}$/)
  .filter((value) => /[A-Za-z]/.test(value) && /\d/.test(value) && (value.match(/[A-Za-z0-9]/g) ?? []).length >= 12);
const benignWord = fc.stringMatching(/^[a-z]{1,10}( [a-z]{1,10}){0,3}$/);

describe("scanOutbound", () => {
  test("a known secret, whole or cut in two, in any encoding and any place, is found", () => {
    fc.assert(
      fc.property(
        secret,
        fc.constantFrom(...ENCODINGS),
        fc.constantFrom(...PLACES),
        fc.constantFrom(...PLACES),
        fc.boolean(),
        fc.nat(),
        fc.nat(),
        (value, encoding, first, second, split, cutSeed, seed) => {
          // A secret shorter than 16 is cut where both pieces are as long as the shortest secret; a longer one anywhere.
          const cut = value.length < 16 ? 6 + (cutSeed % (value.length - 11)) : 1 + (cutSeed % (value.length - 1));
          const pieces = split ? [value.slice(0, cut), value.slice(cut)] : [value];
          const parts: Parts = { path: ["issues"], query: [], headers: [], json: {} };
          pieces.forEach((piece, index) => {
            place(parts, index === 0 ? first : second, encoding.encode(piece, seed), index);
          });
          const shown = built(parts);
          const found = scanOutbound(shown, [value]);
          if (found === undefined)
            throw new Error(
              `not found: ${encoding.name}, ${split ? `cut at ${cut} into ${first} and ${second}` : `whole in ${first}`}: ${shown.url.href} ` +
                JSON.stringify(shown.headers) +
                new TextDecoder().decode(shown.body ?? new Uint8Array()),
            );
        },
      ),
      { numRuns: 200 },
    );
  });

  test("a request of ordinary data passes, knowing a secret it does not hold (the scan does not refuse everything)", () => {
    fc.assert(
      fc.property(
        secret,
        fc.array(fc.tuple(fc.constantFrom(...PLACES), benignWord), { maxLength: 6 }),
        fc.uint8Array({ minLength: 0, maxLength: 48 }),
        (value, placed, blob) => {
          const parts: Parts = { path: ["issues", "42"], query: [], headers: [["Accept-Language", "en"]], json: {} };
          placed.forEach(([where, text], index) => {
            place(parts, where, text, index);
          });
          // Random bytes a request may carry (an upload's base64 or hex): decoded, they are no secret.
          parts.headers.push(["X-Checksum", Buffer.from(blob).toString("hex") || "0"], ["X-Blob", Buffer.from(blob).toString("base64") || "0"]);
          const shown = built(parts);
          expect(scanOutbound(shown, [value])).toBeUndefined();
        },
      ),
      { numRuns: 80 },
    );
  });

  test("the review's cases: percent-encoded path, query and form; base64 of UTF-16; halves apart; a subdomain decoded", () => {
    const value = "s3cr3t-from-dotenv-Zq81";
    const halves = [value.slice(0, 11), value.slice(11)];
    const fullwidth = [...value.toLowerCase()].map((character) => String.fromCharCode(character.charCodeAt(0) + 0xfee0)).join("");
    const cases: [string, OutboundRequest][] = [
      ["path", request(`https://api.test/x/${percentAll(value, true)}`)],
      ["query", request(`https://api.test/x?q=${percentAll(value, false)}`)],
      ["form", request("https://api.test/x", [["Content-Type", "application/x-www-form-urlencoded"]], `k=${percentAll(value, true)}`)],
      ["UTF-16LE", request("https://api.test/x", [], Buffer.from(value, "utf16le").toString("base64"))],
      ["UTF-16BE", request("https://api.test/x", [], utf16be(value).toString("base64"))],
      ["path and body", request(`https://api.test/x/${halves[0]}`, [], `{"rest":"${halves[1]}"}`)],
      [
        "two headers",
        request("https://api.test/x", [
          ["X-A", `${halves[0]}`],
          ["X-Trace", "7"],
          ["X-B", `${halves[1]}`],
        ]),
      ],
      ["JSON key and value", request("https://api.test/x", [], JSON.stringify({ [`${halves[0]}`]: halves[1] }))],
      ["%XX subdomain", request(`https://${percentAll(value.toLowerCase(), false)}.api.test/`)],
      ["fullwidth subdomain", request(`https://${fullwidth}.api.test/`)],
    ];
    for (const [name, shown] of cases) expect([name, scanOutbound(shown, [value]) !== undefined]).toEqual([name, true]);
    // The URL parser decoded the host before the scan saw it: the scan reads it as it goes out.
    expect(request(`https://${fullwidth}.api.test/`).url.hostname).toBe(`${value.toLowerCase()}.api.test`);
  });

  test("a short secret follows the redactor's minimum: under 6 characters it refuses nothing; pieces of one under 12 are not looked for", () => {
    expect(scanOutbound(request("https://api.test/pins/1234?code=1234"), ["1234"])).toBeUndefined();
    expect(scanOutbound(request("https://api.test/hunter/x", [], "two words"), ["hunter2x"])).toBeUndefined();
    expect(scanOutbound(request("https://api.test/hunter2x"), ["hunter2x"])).toMatchObject({ kinds: [expect.stringContaining("a key org")] });
  });

  test("the redactor knows the same forms: every byte percent-encoded, base64 of UTF-16LE and BE", () => {
    const value = "Zq81-s3cr3t-from-dotenv";
    for (const shown of [
      percentAll(value, false),
      percentAll(value, true),
      percentAll(value, false).replace(/%7a/, "%7A"),
      Buffer.from(value, "utf16le").toString("base64"),
      utf16be(value).toString("base64"),
      Buffer.from(`x${value}`, "utf16le").toString("base64"),
    ]) {
      // Hidden but for the few characters it shares with the bytes around it (as base64 of UTF-8 is).
      const hidden = redact(`sent ${shown} out`, [value]);
      expect([shown, hidden.includes(REDACTED), hidden.replace(REDACTED, "").length <= "sent  out".length + 6]).toEqual([shown, true, true]);
    }
  });
});

describe("scanOutbound: what an ordinary request holds passes, what a key's pieces and codes hold does not", () => {
  const value = "Zq8xT4mW9pLk2VbN7rYcHd3F";
  const json = (body: unknown) => request("https://api.test/x", [["Content-Type", "application/json"]], JSON.stringify(body));

  test("ids, digests, counts and session ids are ordinary data: no guess at random-looking values", () => {
    for (const shown of [
      request("https://api.test/settings", [["Content-Type", "application/x-www-form-urlencoded"]], "token_count=4096&password_min_length=12"),
      json({ requestId: "01HZY3K9Q4W8X2V6B7N5M1P0RT", session: "sess_8f3k2m9x7q4w1z6v5b0n" }),
      request("https://drive.google.com/uc?id=1A2b3C4d5E6f7G8h9I0jKlMnOpQrStUv&export=download"),
      request("https://registry.npmjs.org/pkg/-/pkg-1.0.0.tgz?integrity=sha512-Aq3m9ZtK2pW7vB1xN5cR8yH4jL6dF0gS"),
      request("https://example.com/api?session_id=8f3k2m9x7q4w1z6v5b0nq"),
      request("http://localhost.example:8080/d/1aBcD3fGhIjKlMnOpQ7rStUvWxYz0123456789abc"),
    ])
      expect([shown.url.href, scanOutbound(shown, [value])]).toEqual([shown.url.href, undefined]);
    // A provider's key by its shape is still refused with no secret known.
    expect(scanOutbound(json({ key: "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789" }))?.kinds).toContain("an Anthropic API key");
  });

  test("a secret file's settings go out; its key is refused, named by its variable and never by its value", () => {
    const named = [
      { value: "gpt-4o-mini", name: "OPENAI_MODEL in .env", outbound: false },
      { value: "us-east-1", name: "AWS_REGION in .env", outbound: false },
      { value: "https://api.github.com/repos", name: "API_BASE_URL in .env", outbound: false },
      { value, name: "PAYMENTS_KEY in .env", outbound: true },
    ];
    expect(scanOutbound(json({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }), named)).toBeUndefined();
    expect(scanOutbound(request("https://s3.us-east-1.amazonaws.com/invoices/report.txt", [], "report"), named)).toBeUndefined();
    expect(scanOutbound(request("https://api.github.com/repos/octocat/hello/issues", [], "{}"), named)).toBeUndefined();
    const found = scanOutbound(
      request("https://api.test/x", [
        ["X-A", value.slice(0, 8)],
        ["X-B", value.slice(8, 16)],
        ["X-C", value.slice(16)],
      ]),
      named,
    );
    expect(found?.secret).toBe("PAYMENTS_KEY in .env");
    const refusal = outboundRefusal(found ?? { where: "", kinds: [] }, "web_request");
    expect(refusal).toContain("PAYMENTS_KEY in .env");
    expect(refusal).toContain("sandbox.secretPaths");
    expect(refusal).not.toContain(value.slice(0, 8));
  });

  test("pieces of 8 that together cover most of a key, in any places, reversed or lower-cased, are refused", () => {
    const long = "k7Gh2QpZx9WmT4vBn8RcYs3LfJd6Ae5U";
    const [a, b, c] = [value.slice(0, 8), value.slice(8, 16), value.slice(16)];
    const reversed = [...value].reverse().join("");
    const cases: [string, OutboundRequest, string][] = [
      [
        "three headers",
        request("https://api.test/x", [
          ["X-A", a],
          ["X-B", b],
          ["X-C", c],
        ]),
        value,
      ],
      ["three form fields", request("https://api.test/x", [["Content-Type", "application/x-www-form-urlencoded"]], `a=${a}&b=${b}&c=${c}`), value],
      ["path, query, body", request(`https://api.test/x/${a}?p=${b}`, [], c), value],
      ["three labels of a host", request(`https://${a.toLowerCase()}.n.${b.toLowerCase()}.n.${c.toLowerCase()}.api.test/x`), value],
      [
        "reversed halves in two headers",
        request("https://api.test/x", [
          ["X-A", reversed.slice(0, 12)],
          ["X-Trace", "7"],
          ["X-B", reversed.slice(12)],
        ]),
        value,
      ],
      ["four JSON fields", json({ w: long.slice(0, 8), x: 1, y: long.slice(8, 16), z: [long.slice(16, 24), "q", long.slice(24)] }), long],
    ];
    for (const [name, shown, secret] of cases)
      expect([name, scanOutbound(shown, [secret])?.kinds]).toEqual([name, [expect.stringContaining("pieces")]]);
    // One piece of 8 of a 24-character key is a third of it: ordinary text may hold as much by chance.
    expect(scanOutbound(request("https://api.test/x", [["X-A", a]]), [value])).toBeUndefined();
  });

  test("a key cut into pieces of 8 or more, each put anywhere, as written or reversed, is found (property)", () => {
    const key = fc.stringMatching(/^[A-Za-z0-9]{24,40}$/).filter((value) => /[A-Za-z]/.test(value) && /\d/.test(value) && new Set(value).size >= 12);
    fc.assert(
      fc.property(key, fc.array(fc.constantFrom(...PLACES), { minLength: 5, maxLength: 5 }), fc.boolean(), (value, places, reversed) => {
        const written = reversed ? [...value].reverse().join("") : value;
        const pieces = written.match(/.{8,15}(?=.{8,}|$)|.+$/g) ?? [];
        const parts: Parts = { path: ["issues"], query: [], headers: [], json: {} };
        pieces.forEach((piece, index) => {
          place(parts, places[index % places.length] ?? "header", piece, index);
        });
        const shown = built(parts);
        if (scanOutbound(shown, [value]) === undefined) throw new Error(`not found: ${JSON.stringify(pieces)} in ${places.join(", ")}`);
      }),
      { numRuns: 60 },
    );
  });

  test("base32 in lower case and base32hex, 0x lists, octal escapes, decimal codes and bits are read back", () => {
    const bytes = Buffer.from(value);
    const base32 = (alphabet: string) => {
      let [bits, word, out] = [0, 0, ""];
      for (const byte of bytes) {
        word = (word << 8) | byte;
        bits += 8;
        while (bits >= 5) {
          bits -= 5;
          out += alphabet[(word >> bits) & 31];
        }
        word &= (1 << bits) - 1;
      }
      return out;
    };
    for (const body of [
      base32("abcdefghijklmnopqrstuvwxyz234567"),
      base32("0123456789ABCDEFGHIJKLMNOPQRSTUV"),
      base32("0123456789abcdefghijklmnopqrstuv"),
      [...bytes].map((byte) => `0x${byte.toString(16)}`).join(","),
      [...bytes].map((byte) => `\\${byte.toString(8)}`).join(""),
      [...bytes].join("-"),
      [...bytes].map((byte) => byte.toString(2).padStart(8, "0")).join(""),
    ])
      expect([body, scanOutbound(request("https://api.test/x", [], body), [value]) !== undefined]).toEqual([body, true]);
  });
});
