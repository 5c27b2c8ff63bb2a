import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ChunkedBody, ChunkedBodyError } from "./chunked-body.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

/** Feeds `wire` to a decoder in pieces cut at `cuts`; the data it handed on, and whether it saw the end. */
function decode(wire: Uint8Array, cuts: readonly number[]): { data: Uint8Array; done: boolean } {
  const { data, done, failure } = decodeAll(wire, cuts);
  if (failure) throw failure;
  return { data, done };
}

function decodeAll(wire: Uint8Array, cuts: readonly number[]) {
  const body = new ChunkedBody();
  const parts: Uint8Array[] = [];
  const points = [...new Set(cuts.map((cut) => cut % (wire.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const point of [...points, wire.length]) {
    parts.push(body.push(wire.subarray(from, point)).slice());
    from = point;
  }
  return { data: Buffer.concat(parts), done: body.done, failure: body.failure };
}

describe("a chunked body", () => {
  test("decodes to the data it carries however the wire is cut, extensions, trailers and bare LF included", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { maxLength: 6 }),
        fc.array(fc.nat(400), { maxLength: 8 }),
        fc.constantFrom("\r\n", "\n"),
        fc.boolean(),
        (chunks, cuts, lineEnd, decorated) => {
          const pieces: Uint8Array[] = [];
          for (const chunk of chunks) {
            const size = chunk.length.toString(16);
            pieces.push(bytes(`${decorated ? size.toUpperCase() : size}${decorated ? ';name="v"' : ""}${lineEnd}`), chunk, bytes(lineEnd));
          }
          pieces.push(bytes(`0${lineEnd}${decorated ? `x-trailer: 1${lineEnd}` : ""}${lineEnd}`));
          const { data, done } = decode(Buffer.concat(pieces), cuts);
          expect(done).toBe(true);
          expect(data).toEqual(Buffer.concat(chunks));
        },
      ),
      { numRuns: 500 },
    );
  });

  test("stops at the last chunk's end, and is not done before it", () => {
    expect(decode(bytes("3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n"), []).data).toEqual(bytes("abc"));
    expect(decode(bytes("3\r\nabc\r\n0\r\n"), [])).toEqual({ data: bytes("abc"), done: false });
    expect(decode(bytes("3\r\nab"), [])).toEqual({ data: bytes("ab"), done: false });
  });

  test("the data before a break is handed on, none after it", () => {
    const { data, failure } = decodeAll(bytes("3\r\nabc\r\nzz\r\ndef\r\n"), []);
    expect([Buffer.from(data).toString(), failure?.message]).toEqual(["abc", 'a chunk size is not hexadecimal: it holds "z"']);
  });

  test("a malformed body says where it broke", () => {
    const broken = (wire: string) => () => decode(bytes(wire), []);
    expect(broken("zz\r\nabc\r\n")).toThrow(new ChunkedBodyError('a chunk size is not hexadecimal: it holds "z"'));
    expect(broken("-1\r\n")).toThrow(ChunkedBodyError);
    expect(broken("3\r\nabcdef\r\n")).toThrow("a chunk's data did not end where its size said");
    expect(broken(`1;${"x".repeat(5000)}`)).toThrow("a chunk-size or trailer line is over 4096 bytes");
    expect(broken("1000000000000\r\n")).toThrow("a chunk size has over 12 hex digits");
    expect(broken("\r\n")).toThrow("a chunk size line holds no size");
  });
});
