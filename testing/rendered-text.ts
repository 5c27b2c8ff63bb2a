// How a file read back through a shell command looks, for the redactor's tests: each rendering written in TypeScript
// exactly as the tool prints it (`testing/rendered-text.test.ts` holds each to the real tool's output), and a reader
// of its own, written apart from the redactor's, that reads what is left of it after redaction back into bytes (a
// line or stretch the redactor replaced becomes a gap), so a test can ask whether a secret can still be read there.
import { constants, gunzipSync, gzipSync } from "node:zlib";
import { REDACTED } from "../security/redact.ts";

/** A rendering: the command that prints it, the text as printed, and what can be read back from a redacted output. */
export type Rendering = { name: string; command: string; render: (text: string) => string; readBack: (output: string) => string[] };

const GAP = "\uffff";
const latin1 = (bytes: Buffer) => bytes.toString("latin1");
const wrap = (text: string, width: number) => (text.match(new RegExp(`.{1,${width}}`, "g")) ?? []).join("\n") + (text === "" ? "" : "\n");
const offsetOf = (at: number, radix: number, width: number) => at.toString(radix).padStart(width, "0");
const linesOf = (bytes: Buffer, size: number) =>
  Array.from({ length: Math.ceil(bytes.length / size) }, (_, index) => bytes.subarray(index * size, (index + 1) * size));
const printable = (byte: number) => (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : ".");
const hex2 = (byte: number) => byte.toString(16).padStart(2, "0");

/** Pieces of the output between redactions, each a run the reader may decode. */
const pieces = (output: string) => output.split(REDACTED);

function rot13(text: string): string {
  return text.replace(/[A-Za-z]/g, (letter) => {
    const base = letter <= "Z" ? 65 : 97;
    return String.fromCharCode(((letter.charCodeAt(0) - base + 13) % 26) + base);
  });
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function base32(bytes: Buffer): string {
  let bits = "";
  for (const byte of bytes) bits += byte.toString(2).padStart(8, "0");
  let out = "";
  for (let at = 0; at < bits.length; at += 5) out += BASE32[Number.parseInt(bits.slice(at, at + 5).padEnd(5, "0"), 2)];
  return out.padEnd(Math.ceil(out.length / 8) * 8, "=");
}

function fromBase32(text: string): Buffer {
  let bits = "";
  for (const character of text) {
    const index = BASE32.indexOf(character);
    if (index !== -1) bits += index.toString(2).padStart(5, "0");
  }
  return Buffer.from(Array.from({ length: Math.floor(bits.length / 8) }, (_, index) => Number.parseInt(bits.slice(index * 8, index * 8 + 8), 2)));
}

/** Each piece read at every alignment of its blocks (`size` characters each), decoded. */
function blockReads(output: string, size: number, decode: (text: string) => Buffer): string[] {
  return pieces(output.replace(/\n/g, "")).flatMap((piece) => Array.from({ length: size }, (_, shift) => latin1(decode(piece.slice(shift)))));
}

const OD_ESCAPES: Record<number, string> = { 0: "\\0", 7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r" };

function odCell(byte: number): string {
  const written = OD_ESCAPES[byte];
  if (written !== undefined) return `  ${written}`;
  if (byte > 0x20 && byte < 0x7f) return `   ${String.fromCharCode(byte)}`;
  if (byte === 0x20) return "    ";
  return ` ${byte.toString(8).padStart(3, "0")}`;
}

/** Lines of a dump read by fixed columns; a line that is not the dump's (a redaction) leaves a gap. */
function dumpRead(output: string, read: (line: string) => string | undefined): string[] {
  return [
    output
      .split("\n")
      .map((line) => read(line) ?? GAP)
      .join(""),
  ];
}

const hexBytes = (text: string) => (/^(?:[0-9a-f]{2})+$/.test(text) ? latin1(Buffer.from(text, "hex")) : undefined);

/** The renderings a committed secret file was read back in (issue 51, item 9), and a few more of the same kinds. */
export const RENDERINGS: readonly Rendering[] = [
  {
    name: "base64",
    command: "base64",
    render: (text) => wrap(Buffer.from(text).toString("base64"), 76),
    readBack: (output) => blockReads(output, 4, (piece) => Buffer.from(piece.slice(0, piece.length - (piece.length % 4)), "base64")),
  },
  {
    name: "base32",
    command: "base32",
    render: (text) => wrap(base32(Buffer.from(text)), 76),
    readBack: (output) => blockReads(output, 8, (piece) => fromBase32(piece.slice(0, piece.length - (piece.length % 8)))),
  },
  {
    name: "gzip | base64",
    command: "gzip -c -n | base64",
    render: (text) => wrap(gzipSync(Buffer.from(text)).toString("base64"), 76),
    readBack: (output) =>
      pieces(output.replace(/\n/g, "")).flatMap((piece) => {
        try {
          return [latin1(gunzipSync(Buffer.from(piece, "base64"), { finishFlush: constants.Z_SYNC_FLUSH }))];
        } catch {
          return [];
        }
      }),
  },
  { name: "rot13", command: "tr A-Za-z N-ZA-Mn-za-m", render: rot13, readBack: (output) => [rot13(output)] },
  ...["-", " ", "::"].map(
    (separator): Rendering => ({
      name: `a ${JSON.stringify(separator)} between characters`,
      command: `sed 's/./&${separator}/g'`,
      render: (text) =>
        text
          .split("\n")
          .map((line) => [...line].map((character) => character + separator).join(""))
          .join("\n"),
      readBack: (output) =>
        output
          .split("\n")
          .flatMap(pieces)
          .flatMap((piece) =>
            Array.from({ length: separator.length + 1 }, (_, phase) =>
              [...piece.slice(phase)].filter((_, index) => index % (separator.length + 1) === 0).join(""),
            ),
          ),
    }),
  ),
  {
    name: "a character a line",
    command: "fold -w1",
    render: (text) =>
      text
        .split("\n")
        .map((line) => [...line].join("\n"))
        .join("\n"),
    readBack: (output) => [
      output
        .split("\n")
        .map((line) => (line.length === 1 ? line : GAP))
        .join(""),
    ],
  },
  {
    name: "od -c",
    command: "od -c",
    render: (text) => {
      const bytes = Buffer.from(text);
      const lines = linesOf(bytes, 16).map((line, index) => `${offsetOf(index * 16, 8, 7)}${[...line].map(odCell).join("")}`);
      return `${[...lines, offsetOf(bytes.length, 8, 7)].join("\n")}\n`;
    },
    readBack: (output) =>
      dumpRead(output, (line) => {
        if (!/^[0-7]{7}(?:.{4})+$/.test(line)) return undefined;
        const cells = line.slice(7).match(/.{4}/g) ?? [];
        return cells
          .map((cell) => {
            const named = Object.entries(OD_ESCAPES).find(([, written]) => `  ${written}` === cell);
            if (named) return String.fromCharCode(Number(named[0]));
            return /^ [0-7]{3}$/.test(cell) ? String.fromCharCode(Number.parseInt(cell.slice(1), 8)) : (cell[3] ?? "");
          })
          .join("");
      }),
  },
  {
    name: "od -x",
    command: "od -x",
    render: (text) => {
      const bytes = Buffer.from(text);
      const words = (line: Buffer) =>
        Array.from({ length: Math.ceil(line.length / 2) }, (_, index) => `${hex2(line[index * 2 + 1] ?? 0)}${hex2(line[index * 2] ?? 0)}`);
      const lines = linesOf(bytes, 16).map((line, index) => `${offsetOf(index * 16, 8, 7)} ${words(line).join(" ")}`);
      return `${[...lines, offsetOf(bytes.length, 8, 7)].join("\n")}\n`;
    },
    readBack: (output) =>
      dumpRead(output, (line) => {
        if (!/^[0-7]{7}(?: [0-9a-f]{4})+$/.test(line)) return undefined;
        return line
          .slice(8)
          .split(" ")
          .map((word) => `${String.fromCharCode(Number.parseInt(word.slice(2), 16))}${String.fromCharCode(Number.parseInt(word.slice(0, 2), 16))}`)
          .join("");
      }),
  },
  {
    name: "hexdump -C",
    command: "hexdump -C",
    render: (text) => {
      const bytes = Buffer.from(text);
      const lines = linesOf(bytes, 16).map((line, index) => {
        const hex = [...line].map((byte, at) => `${hex2(byte)}${at === 7 ? "  " : " "}`).join("");
        return `${offsetOf(index * 16, 16, 8)}  ${hex.padEnd(49)} |${[...line].map(printable).join("")}|`;
      });
      return `${[...lines, offsetOf(bytes.length, 16, 8)].join("\n")}\n`;
    },
    readBack: (output) =>
      dumpRead(output, (line) => (/^[0-9a-f]{8}  /.test(line) && line.includes("|") ? hexBytes(line.slice(10, 59).replace(/ /g, "")) : undefined)),
  },
  {
    name: "xxd",
    command: "xxd",
    render: (text) => {
      const bytes = Buffer.from(text);
      const lines = linesOf(bytes, 16).map((line, index) => {
        const groups = (line.toString("hex").match(/.{1,4}/g) ?? []).join(" ");
        return `${offsetOf(index * 16, 16, 8)}: ${groups.padEnd(39)}  ${[...line].map(printable).join("")}`;
      });
      return `${lines.join("\n")}\n`;
    },
    readBack: (output) => dumpRead(output, (line) => (/^[0-9a-f]{8}: /.test(line) ? hexBytes(line.slice(10, 49).replace(/ /g, "")) : undefined)),
  },
  {
    name: "xxd -p",
    command: "xxd -p",
    render: (text) => wrap(Buffer.from(text).toString("hex"), 60),
    readBack: (output) => pieces(output.replace(/\n/g, "")).flatMap((piece) => [0, 1].map((shift) => latin1(Buffer.from(piece.slice(shift), "hex")))),
  },
];
