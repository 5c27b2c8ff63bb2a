import { expect, test } from "bun:test";
import { type Key, KeyDecoder } from "./key-decoder.ts";

// Every escape sequence the decoder knows, by its text after ESC, as terminals send them.
const SEQUENCES: [string, Exclude<Key["type"], "text" | "paste">][] = [
  ["[A", "up"],
  ["[B", "down"],
  ["[C", "right"],
  ["[D", "left"],
  ["[H", "home"],
  ["[F", "end"],
  ["OA", "up"],
  ["OB", "down"],
  ["OC", "right"],
  ["OD", "left"],
  ["OH", "home"],
  ["OF", "end"],
  ["[1~", "home"],
  ["[7~", "home"],
  ["[4~", "end"],
  ["[8~", "end"],
  ["[3~", "delete"],
  ["[1;5C", "word-right"],
  ["[1;5D", "word-left"],
  ["[1;3C", "word-right"],
  ["[1;3D", "word-left"],
  ["b", "word-left"],
  ["f", "word-right"],
  ["\r", "alt-enter"],
  ["\n", "alt-enter"],
  ["\x7f", "kill-word"],
];

test("each known escape sequence decodes to its key, CSI and SS3 cursor keys alike", () => {
  for (const [body, type] of SEQUENCES) expect({ body, keys: new KeyDecoder().feed(`\x1b${body}`) }).toEqual({ body, keys: [{ type }] });
});

test("a sequence it does not know is dropped", () => {
  for (const body of ["[Z", "OZ", "[9~", "x"]) expect(new KeyDecoder().feed(`\x1b${body}`)).toEqual([]);
});
