import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { REDACTED, redact } from "../security/redact.ts";
import { scanForSecrets } from "../security/scan-for-secrets.ts";
import { literalSecretProblem } from "./mcp-servers.ts";
import { SECRET_SHAPES, type SecretShape, secretShapeIn } from "./secret-shapes.ts";

const SHAPE_KINDS = new Set(SECRET_SHAPES.map((shape) => shape.kind));

/** Whole tokens of one shape: its pattern without the look-behind, matched from end to end (any case where it ignores case). */
function tokenOf(shape: SecretShape): fc.Arbitrary<string> {
  const source = shape.pattern.source.replace(/^\(\?<!\[A-Za-z0-9\]\)/, "");
  const whole = fc.stringMatching(new RegExp(`^(?:${source})$`));
  if (!shape.pattern.ignoreCase) return whole;
  return fc
    .tuple(whole, fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }))
    .map(([token, upper]) => [...token].map((char, index) => (upper[index % upper.length] ? char.toUpperCase() : char)).join(""));
}

const anyToken = fc.constantFrom(...SECRET_SHAPES).chain((shape) => tokenOf(shape).map((token) => ({ kind: shape.kind, token })));
// What may stand before a token in a value or a text: nothing glued to a letter or digit.
const before = fc.constantFrom("", " ", "Bearer ", "key=", "_", "-", "(", '"', "\n");
// A name that says nothing of a credential: a token shape is refused under it all the same.
const plainName = fc.constantFrom("NOTES", "MODE", "X-Trace", "Accept", "LOG_LEVEL");

// Text made of the shapes' openings and pieces they continue with, so arbitrary strings often hold a token and often
// come close without holding one.
const piece = fc.oneof(
  fc.constantFrom(...SECRET_SHAPES.flatMap((shape) => shape.openings)),
  fc.constantFrom(
    "-",
    "_",
    ".",
    " ",
    "=",
    ":",
    "ant-",
    "proj-",
    "live_",
    "T3BlbkFJ",
    "RSA PRIVATE KEY-----",
    "-----END RSA PRIVATE KEY-----",
    "access_key",
  ),
  fc.stringMatching(/^[A-Za-z0-9]{1,14}$/),
);
const nearTokens = fc.array(piece, { maxLength: 14 }).map((pieces) => pieces.join(""));

describe("the token shapes: one list for the redactor and for mcpServers' literal secrets", () => {
  test("every token the redactor knows is hidden by it, and refused as a literal in mcpServers under any name (property)", () => {
    fc.assert(
      fc.property(anyToken, before, plainName, ({ kind, token }, head, name) => {
        const text = `${head}${token} and after`;
        expect(redact(text)).not.toContain(token);
        expect(redact(text)).toContain(REDACTED);
        expect(scanForSecrets(text).kinds).toContain(secretShapeIn(text) ?? "no shape");
        expect(SHAPE_KINDS.has(kind)).toBe(true);
        expect(literalSecretProblem("env", name, `${head}${token}`, "s")).toContain("holds what looks like a token");
        expect(literalSecretProblem("header", name, `${head}${token}`, "s")).toContain("holds what looks like a token");
      }),
      { numRuns: 400 },
    );
  });

  test("a value mcpServers refuses as a token is one the inbound scan names as a token, and the other way round (property)", () => {
    fc.assert(
      fc.property(nearTokens, (text) => {
        const refused = literalSecretProblem("env", "NOTES", text, "s")?.includes("looks like a token") === true;
        const named = scanForSecrets(text).kinds.some((kind) => SHAPE_KINDS.has(kind));
        expect({ text, refused }).toEqual({ text, refused: named });
        // Whatever matches a shape is gone from the redacted text.
        for (const { pattern } of SECRET_SHAPES) for (const match of text.matchAll(pattern)) expect(redact(text)).not.toContain(match[0]);
      }),
      { numRuns: 1500 },
    );
  });

  test("the lengths are the shortest either user took: a 20-character GitHub token, a 16-character sk- key, a JWT whatever its payload", () => {
    for (const token of [`ghp_${"a1B2c".repeat(4)}`, `sk-${"Ab3_".repeat(4)}`, "eyJhbGciOiJI.payload12345.signature99", `AIza${"x".repeat(30)}`]) {
      expect({ token, shape: secretShapeIn(token) !== undefined }).toEqual({ token, shape: true });
      expect(redact(`a ${token} b`)).toBe(`a ${REDACTED} b`);
    }
  });

  test("a shape glued to a word is none: kebab-case names and paths are not keys", () => {
    for (const text of ["task-runner-configuration-2024", "/mnt/disk-backup-volume-000001", "laughs_abcdefghijklmnopqrstuvwx", "sk-short"]) {
      expect({ text, shape: secretShapeIn(text) }).toEqual({ text, shape: undefined });
      expect(redact(text)).toBe(text);
      expect(literalSecretProblem("env", "NOTES", text, "s")).toBeUndefined();
    }
  });
});
