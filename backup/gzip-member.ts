import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { crc32, createInflateRaw } from "node:zlib";
import { TarError } from "./tar-header.ts";

/** Bytes of a gzip header read at most: org's is 10; a name or a comment in it is all that makes one longer. */
const MAX_HEADER_BYTES = 64 * 1024;
const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;

/** Bytes found after the gzip stream's trailer: the file was altered, whatever they are. */
export class BytesAfterGzipError extends TarError {
  override name = "BytesAfterGzipError";
}

/** How many bytes of the file the gzip stream took, header and trailer included; set once the stream ended well. */
export type GzipCount = { compressedBytes: number };

/** Where the deflate data starts after a gzip header (RFC 1952), or a TarError saying what is wrong with it. */
function headerLength(path: string, head: Buffer): number {
  const notGzip = (why: string) => new TarError(`${path} is not a gzipped archive org wrote (${why})`);
  if (head.length < 10 || head[0] !== 0x1f || head[1] !== 0x8b) throw notGzip("incorrect header check");
  if (head[2] !== 8) throw notGzip("unknown compression method");
  const flags = head[3] ?? 0;
  if ((flags & 0xe0) !== 0) throw notGzip("reserved header flags set");
  let at = 10;
  if (flags & FEXTRA) at += 2 + head.readUInt16LE(Math.min(at, head.length - 2));
  for (const flag of [FNAME, FCOMMENT]) {
    if (!(flags & flag)) continue;
    const end = head.indexOf(0, at);
    if (end < 0) throw notGzip(`a header longer than ${MAX_HEADER_BYTES} bytes`);
    at = end + 1;
  }
  if (flags & FHCRC) {
    if (at + 2 > head.length) throw notGzip(`a header longer than ${MAX_HEADER_BYTES} bytes`);
    if ((crc32(head.subarray(0, at)) & 0xffff) !== head.readUInt16LE(at)) throw notGzip("header crc mismatch");
    at += 2;
  }
  if (at > head.length) throw notGzip(`a header longer than ${MAX_HEADER_BYTES} bytes`);
  return at;
}

/**
 * The decompressed bytes of the one gzip member a backup is (org writes exactly one): header, deflate data, and the
 * trailer whose CRC-32 and length are checked against what came out. A file cut short, damaged or not gzip throws
 * TarError; any byte after the trailer, zeros too, BytesAfterGzipError (zlib alone would skip them, and they would lift
 * a bound measured by the file's size). Once it ended well, `count.compressedBytes` is what the stream took.
 */
export async function* gzipMember(path: string, count: GzipCount = { compressedBytes: 0 }): AsyncGenerator<Buffer> {
  const file = await open(path, "r");
  try {
    const head = Buffer.alloc(MAX_HEADER_BYTES);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    const start = headerLength(path, head.subarray(0, bytesRead));
    const inflate = createInflateRaw();
    const stream = createReadStream(path, { start }).pipe(inflate);
    let crc = 0;
    let size = 0;
    try {
      for await (const chunk of stream) {
        const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
        crc = crc32(bytes, crc);
        size += bytes.length;
        yield bytes;
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new TarError(
        /unexpected end/i.test(message) ? `${path} is cut short (${message})` : `${path} is not a gzipped archive org wrote (${message})`,
      );
    } finally {
      stream.destroy();
    }
    const trailerAt = start + inflate.bytesWritten;
    const trailer = Buffer.alloc(8);
    const read = await file.read(trailer, 0, 8, trailerAt);
    if (read.bytesRead < 8) throw new TarError(`${path} is cut short (its gzip trailer is ${read.bytesRead} of 8 bytes)`);
    if (trailer.readUInt32LE(0) !== crc >>> 0 || trailer.readUInt32LE(4) !== size % 2 ** 32)
      throw new TarError(`${path} is damaged: its gzip trailer's CRC-32 or length is not that of what it holds`);
    const after = (await file.stat()).size - (trailerAt + 8);
    if (after > 0)
      throw new BytesAfterGzipError(
        `${path} has ${after} bytes after the end of its gzip stream; org writes one gzip stream and nothing after it, ` +
          "so this file was altered (appended bytes would lift the bound on how much a backup of its size may hold). " +
          "Restore an unaltered copy.",
      );
    count.compressedBytes = trailerAt + 8;
  } finally {
    await file.close();
  }
}
