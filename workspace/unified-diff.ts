import { type ChangeSet, type FileChange, type FileVersion, isBinary, splitLines } from "./change-set.ts";
import { diffLines, type LineEdit } from "./line-diff.ts";

const NULL_ID = "0".repeat(40);
const CONTEXT = 3;

/**
 * The change set as a git-style unified diff that `git apply` takes from the workspace's root: text as hunks,
 * binary files whole (`GIT binary patch`, literal), links as mode 120000, executable-bit changes as modes.
 * A file without content (over the read bound) or a special file cannot be written as a diff and throws.
 */
export function unifiedDiff(changeSet: ChangeSet): string {
  return changeSet.changes.map(fileDiff).join("");
}

/** Lines added and removed over the text files of a change set, and the number of files it touches. */
export function diffStats(changeSet: ChangeSet): { files: number; added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const change of changeSet.changes) {
    const before = textLines(change.before);
    const after = textLines(change.after);
    if (before === undefined || after === undefined) continue;
    for (const edit of diffLines(before, after)) {
      if (edit.op === "+") added += 1;
      else if (edit.op === "-") removed += 1;
    }
  }
  return { files: changeSet.changes.length, added, removed };
}

function fileDiff(change: FileChange): string {
  const { before, after } = change;
  // A file that becomes a link (or the reverse) is, for git, one deleted and one added.
  if (before && after && gitMode(before) !== gitMode(after) && (before.type === "symlink" || after.type === "symlink")) {
    return fileDiff({ path: change.path, status: "deleted", before }) + fileDiff({ path: change.path, status: "added", after });
  }
  const a = quotePath(`a/${change.path}`);
  const b = quotePath(`b/${change.path}`);
  const header = [`diff --git ${a} ${b}\n`];
  if (!before && after) header.push(`new file mode ${gitMode(after)}\n`);
  else if (before && !after) header.push(`deleted file mode ${gitMode(before)}\n`);
  else if (before && after && gitMode(before) !== gitMode(after)) header.push(`old mode ${gitMode(before)}\n`, `new mode ${gitMode(after)}\n`);
  const oldBytes = bytesOf(before, change.path);
  const newBytes = bytesOf(after, change.path);
  if (before && after && Buffer.compare(Buffer.from(oldBytes), Buffer.from(newBytes)) === 0) return header.join("");
  const mode = before && after && gitMode(before) === gitMode(after) ? ` ${gitMode(after)}` : "";
  header.push(`index ${before ? blobId(oldBytes) : NULL_ID}..${after ? blobId(newBytes) : NULL_ID}${mode}\n`);
  if (isBinary(oldBytes) || isBinary(newBytes)) return `${header.join("")}GIT binary patch\n${literal(newBytes)}${literal(oldBytes)}`;
  const edits = diffLines(splitLines(decode(oldBytes)), splitLines(decode(newBytes)));
  if (edits.length === 0) return header.join("");
  const tab = change.path.includes(" ") ? "\t" : "";
  header.push(`--- ${before ? a : "/dev/null"}${tab}\n`, `+++ ${after ? b : "/dev/null"}${tab}\n`);
  return header.join("") + hunks(edits);
}

function textLines(version: FileVersion | undefined): string[] | undefined {
  if (version === undefined) return [];
  if (version.type === "symlink") return splitLines(version.target);
  if (version.type !== "file" || version.content === undefined || isBinary(version.content)) return undefined;
  return splitLines(decode(version.content));
}

function bytesOf(version: FileVersion | undefined, path: string): Uint8Array {
  if (version === undefined) return new Uint8Array();
  if (version.type === "symlink") return new TextEncoder().encode(version.target);
  if (version.type !== "file") throw new RangeError(`${JSON.stringify(path)} is a ${version.type}, which a diff cannot carry`);
  if (version.content === undefined)
    throw new RangeError(`${JSON.stringify(path)} is ${version.size} bytes, larger than was read; a diff cannot carry it`);
  return version.content;
}

function gitMode(version: FileVersion): string {
  if (version.type === "symlink") return "120000";
  if (version.type === "file") return version.mode & 0o111 ? "100755" : "100644";
  return "000000";
}

/** Git's blob id of content: sha1 of `blob <size>\0` and the bytes. */
export function blobId(content: Uint8Array): string {
  return new Bun.CryptoHasher("sha1").update(`blob ${content.byteLength}\0`).update(content).digest("hex");
}

function decode(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

function hunks(edits: LineEdit[]): string {
  const changed = edits.flatMap((edit, index) => (edit.op === " " ? [] : [index]));
  const out: string[] = [];
  let cursor = 0;
  while (cursor < changed.length) {
    const first = changed[cursor] as number;
    let last = first;
    while (cursor + 1 < changed.length && (changed[cursor + 1] as number) - last <= 2 * CONTEXT + 1) {
      cursor += 1;
      last = changed[cursor] as number;
    }
    cursor += 1;
    const from = Math.max(0, first - CONTEXT);
    const to = Math.min(edits.length, last + CONTEXT + 1);
    let oldStart = 1;
    let newStart = 1;
    for (const edit of edits.slice(0, from)) {
      if (edit.op !== "+") oldStart += 1;
      if (edit.op !== "-") newStart += 1;
    }
    const slice = edits.slice(from, to);
    const oldCount = slice.filter((edit) => edit.op !== "+").length;
    const newCount = slice.filter((edit) => edit.op !== "-").length;
    out.push(`@@ -${range(oldStart, oldCount)} +${range(newStart, newCount)} @@\n`);
    for (const edit of slice) {
      out.push(edit.op, edit.line);
      if (!edit.line.endsWith("\n")) out.push("\n\\ No newline at end of file\n");
    }
  }
  return out.join("");
}

function range(start: number, count: number): string {
  // An empty side names the line before it, as diff does (0 for an empty file).
  const shown = count === 0 ? start - 1 : start;
  return count === 1 ? `${shown}` : `${shown},${count}`;
}

const BASE85 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";

/** node:zlib, loaded for a binary file's hunk: loading it costs every process that merely imports this file. */
const zlib = (): typeof import("node:zlib") => process.getBuiltinModule("node:zlib");

/** A `literal` hunk of a git binary patch: the bytes deflated, in base85 lines of up to 52 bytes each. */
function literal(content: Uint8Array): string {
  const deflated = zlib().deflateSync(content);
  const lines = [`literal ${content.byteLength}\n`];
  for (let offset = 0; offset < deflated.byteLength; offset += 52) {
    const chunk = deflated.subarray(offset, offset + 52);
    const length = chunk.byteLength <= 26 ? String.fromCharCode(64 + chunk.byteLength) : String.fromCharCode(96 + chunk.byteLength - 26);
    let encoded = "";
    for (let group = 0; group < chunk.byteLength; group += 4) {
      let value = 0;
      for (let index = 0; index < 4; index += 1) value = value * 256 + (chunk[group + index] ?? 0);
      let digits = "";
      for (let index = 0; index < 5; index += 1) {
        digits = (BASE85[value % 85] as string) + digits;
        value = Math.floor(value / 85);
      }
      encoded += digits;
    }
    lines.push(`${length}${encoded}\n`);
  }
  return `${lines.join("")}\n`;
}

const NAMED_ESCAPES: Record<number, string> = { 7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 34: '\\"', 92: "\\\\" };

/** A path as git writes it in a diff header: in C-style quotes, escaped, when it holds a quote, backslash, control or non-ASCII byte. */
export function quotePath(path: string): string {
  if (!/["\\\x00-\x1f\x7f-\uffff]/.test(path)) return path;
  let quoted = "";
  for (const byte of new TextEncoder().encode(path)) {
    const named = NAMED_ESCAPES[byte];
    if (named) quoted += named;
    else if (byte < 0x20 || byte >= 0x7f) quoted += `\\${byte.toString(8).padStart(3, "0")}`;
    else quoted += String.fromCharCode(byte);
  }
  return `"${quoted}"`;
}
