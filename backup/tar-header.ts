import { OrgError } from "../errors/org-error.ts";

// The ustar header (POSIX.1-1988) with pax extended headers for what it cannot hold (long names, sizes of 8 GiB and
// more): the one layout `tar-writer.ts` writes and `tar-reader.ts` reads. Only regular files and folders are made;
// `tar -tzf` and `tar -xzf` read what it writes.

export const BLOCK = 512;

/** What a header says: the entry's kind, its path, size, mode and mtime (seconds). */
export type TarHeader = {
  type: "file" | "directory" | "pax" | "pax-global" | "other";
  flag: string;
  name: string;
  size: number;
  mode: number;
  mtime: number;
};

/** The archive is not one this reader takes, or ends early; the message names the entry. */
export class TarError extends OrgError {
  override name = "TarError";
}

const USTAR_SIZE_MAX = 0o77777777777;

function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(`${value.toString(8).padStart(width - 1, "0")}\0`, offset, width, "ascii");
}

function readOctal(block: Buffer, offset: number, width: number): number {
  const text = block
    .toString("ascii", offset, offset + width)
    .replace(/[\0 ]+$/g, "")
    .trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) return Number.NaN;
  return Number.parseInt(text, 8);
}

function checksumOf(block: Buffer): number {
  let sum = 0;
  for (let index = 0; index < BLOCK; index += 1) sum += index >= 148 && index < 156 ? 0x20 : (block[index] ?? 0);
  return sum;
}

/** One header block; `name` must fit 100 bytes (a longer one goes in a pax header before it). */
function headerBlock(name: string, flag: string, size: number, mode: number, mtime: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, "utf8");
  writeOctal(block, 100, 8, mode & 0o7777);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 124, 12, size > USTAR_SIZE_MAX ? 0 : size);
  writeOctal(block, 136, 12, Math.max(0, Math.floor(mtime)));
  block.write(flag, 156, 1, "ascii");
  block.write("ustar\0", 257, 6, "ascii");
  block.write("00", 263, 2, "ascii");
  block.write(`${checksumOf(block).toString(8).padStart(6, "0")}\0 `, 148, 8, "ascii");
  return block;
}

/** A pax record: `<length> <key>=<value>\n`, where the length counts itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}

/** The blocks that start an entry: a pax header when the name or size does not fit ustar, then the ustar header. */
export function entryHeader(entry: { name: string; type: "file" | "directory"; size: number; mode: number; mtime: number }): Buffer {
  const flag = entry.type === "directory" ? "5" : "0";
  const records: string[] = [];
  if (Buffer.byteLength(entry.name) > 100) records.push(paxRecord("path", entry.name));
  if (entry.size > USTAR_SIZE_MAX) records.push(paxRecord("size", String(entry.size)));
  const header = headerBlock(records.length > 0 ? entry.name.slice(0, 99) : entry.name, flag, entry.size, entry.mode, entry.mtime);
  if (records.length === 0) return header;
  const pax = Buffer.from(records.join(""));
  return Buffer.concat([headerBlock("PaxHeader", "x", pax.length, 0o644, entry.mtime), pax, Buffer.alloc(padding(pax.length)), header]);
}

/** Bytes of zeros that bring `size` to a whole block. */
export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** Reads one header block; undefined for a block of zeros (the end); TarError when its checksum or fields are wrong. */
export function parseHeader(block: Buffer, where: string): TarHeader | undefined {
  if (block.every((byte) => byte === 0)) return undefined;
  const stored = readOctal(block, 148, 8);
  if (stored !== checksumOf(block)) throw new TarError(`the header ${where} is damaged (its checksum does not match)`);
  const flag = block.toString("ascii", 156, 157);
  const name = block.toString("utf8", 0, 100).replace(/\0.*$/s, "");
  const prefix = block.toString("ascii", 257, 262) === "ustar" ? block.toString("utf8", 345, 500).replace(/\0.*$/s, "") : "";
  const size = readOctal(block, 124, 12);
  const mode = readOctal(block, 100, 8);
  const mtime = readOctal(block, 136, 12);
  if (!Number.isSafeInteger(size) || !Number.isSafeInteger(mode) || !Number.isFinite(mtime))
    throw new TarError(`the header ${where} has a field that is not a number`);
  const type =
    flag === "0" || flag === "\0" || flag === "" ? "file" : flag === "5" ? "directory" : flag === "x" ? "pax" : flag === "g" ? "pax-global" : "other";
  return { type, flag, name: prefix ? `${prefix}/${name}` : name, size, mode, mtime };
}

/** The key=value records of a pax header's body. */
export function parsePax(body: Buffer, where: string): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    const length = space < 0 ? Number.NaN : Number(body.toString("ascii", at, space));
    if (!Number.isSafeInteger(length) || length <= 0 || at + length > body.length) throw new TarError(`the pax header ${where} is damaged`);
    const record = body.toString("utf8", space + 1, at + length - 1);
    const equals = record.indexOf("=");
    if (equals > 0) records.set(record.slice(0, equals), record.slice(equals + 1));
    at += length;
  }
  return records;
}
