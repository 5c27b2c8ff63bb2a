import { BytesAfterGzipError, type GzipCount, gzipMember } from "./gzip-member.ts";
import { BLOCK, padding, parseHeader, parsePax, TarError } from "./tar-header.ts";

/** Bytes of one pax header read at most (its records name a path and a size). */
const MAX_PAX_BYTES = 1024 * 1024;
/** Zeros read after the end-of-archive blocks at most: a tar writer pads to its record size (10 KiB for GNU tar). */
const MAX_TRAILING_BYTES = 1024 * 1024;

/** One entry of an archive: a regular file or a folder; what `chunks` leaves unread is skipped before the next entry. */
export type TarEntry = { name: string; type: "file" | "directory"; size: number; mode: number; chunks(): AsyncGenerator<Buffer> };

/** Reads exact byte counts from a stream of chunks. */
class ByteReader {
  #pending: Buffer[] = [];
  #buffered = 0;
  readonly #source: AsyncIterator<Buffer>;
  #done = false;

  constructor(source: AsyncIterable<Buffer>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  async #fill(wanted: number): Promise<void> {
    while (this.#buffered < wanted && !this.#done) {
      const next = await this.#source.next();
      if (next.done) this.#done = true;
      else {
        this.#pending.push(next.value);
        this.#buffered += next.value.length;
      }
    }
  }

  /** Up to `max` bytes (at least one unless the stream ended); empty at the end. */
  async some(max: number): Promise<Buffer> {
    await this.#fill(1);
    const first = this.#pending[0];
    if (first === undefined) return Buffer.alloc(0);
    const taken = first.subarray(0, max);
    if (taken.length === first.length) this.#pending.shift();
    else this.#pending[0] = first.subarray(taken.length);
    this.#buffered -= taken.length;
    return taken;
  }

  /** Exactly `size` bytes, or fewer when the stream ends first. */
  async exact(size: number): Promise<Buffer> {
    await this.#fill(size);
    const parts: Buffer[] = [];
    let got = 0;
    while (got < size) {
      const part = await this.some(size - got);
      if (part.length === 0) break;
      parts.push(part);
      got += part.length;
    }
    return Buffer.concat(parts);
  }
}

/**
 * The entries of the gzipped tar at `path`, in order: regular files and folders only. A link, a device, a FIFO or any
 * other kind of entry, a damaged header and an archive that ends inside an entry throw TarError naming the entry; so
 * does a byte after its gzip stream (`gzipMember`). Once the last entry was read, `count` holds the compressed bytes.
 */
export async function* readTar(path: string, count?: GzipCount): AsyncGenerator<TarEntry> {
  const source = gzipMember(path, count);
  try {
    yield* entriesOf(new ByteReader(source), path);
  } finally {
    // A pass that stops early (a refusal, an error) closes the file now rather than when it is collected.
    await source.return(undefined);
  }
}

async function* entriesOf(reader: ByteReader, path: string): AsyncGenerator<TarEntry> {
  let pax = new Map<string, string>();
  let previous = "the start of the archive";
  for (;;) {
    const where = `after ${previous}`;
    const block = await reader.exact(BLOCK).catch((error: unknown) => {
      throw error instanceof TarError ? new TarError(`${error.message}, ${where}`) : error;
    });
    if (block.length === 0) throw new TarError(`${path} ends ${where} without the end-of-archive blocks: it is cut short`);
    if (block.length < BLOCK) throw new TarError(`${path} is cut short in the header ${where}`);
    const header = parseHeader(block, where);
    if (header === undefined) {
      await endOfArchive(reader, path, where);
      return;
    }
    if (header.type === "pax" || header.type === "pax-global") {
      // Read into memory whole: bounded, as no header org writes comes near it.
      if (header.size > MAX_PAX_BYTES)
        throw new TarError(`${path} has a pax header of ${header.size} bytes ${where}, more than the ${MAX_PAX_BYTES} any archive org writes holds`);
      const body = await reader.exact(header.size + padding(header.size));
      if (body.length < header.size) throw new TarError(`${path} is cut short in a pax header ${where}`);
      if (header.type === "pax") pax = parsePax(body.subarray(0, header.size), where);
      continue;
    }
    const name = pax.get("path") ?? header.name;
    const size = pax.has("size") ? Number(pax.get("size")) : header.size;
    pax = new Map();
    previous = `the entry ${JSON.stringify(name.slice(0, 200))}`;
    if (header.type === "other")
      throw new TarError(`${previous} of ${path} is not a file or a folder (tar type '${header.flag}'); a backup holds only those`);
    if (!Number.isSafeInteger(size) || size < 0) throw new TarError(`${previous} of ${path} has no valid size`);
    const entry = entryOf(reader, path, previous, header.type === "directory" ? 0 : size);
    yield { name, type: header.type, size: entry.length, mode: header.mode, chunks: entry.body };
    for await (const _ of entry.body());
  }
}

/**
 * The archive's end: the second of the two zero blocks, then nothing but zeros to the end of the gzip stream, whose own
 * end (its CRC-32 and length, checked by zlib) must be there: a file cut by even one byte fails here, not later.
 */
async function endOfArchive(reader: ByteReader, path: string, where: string): Promise<void> {
  try {
    const second = await reader.exact(BLOCK);
    if (second.length < BLOCK) throw new TarError(`${path} is cut short in its end-of-archive blocks, ${where}`);
    let trailing = 0;
    for (let rest = second; rest.length > 0; rest = await reader.some(1024 * 1024)) {
      if (!rest.every((byte) => byte === 0))
        throw new TarError(`${path} has data after its end-of-archive blocks, ${where}; it is not an archive org wrote`);
      // A stream of zeros with no end (a gzip bomb after the last entry) is stopped as it is read.
      trailing += rest.length;
      if (trailing > MAX_TRAILING_BYTES)
        throw new TarError(
          `${path} goes on for more than ${MAX_TRAILING_BYTES} bytes after its end-of-archive blocks, ${where}; it is not an archive org wrote`,
        );
    }
  } catch (error) {
    if (!(error instanceof TarError) || error instanceof BytesAfterGzipError || error.message.includes(where)) throw error;
    // gzip's own end: its CRC-32 and length are the last 8 bytes of the file.
    throw new TarError(`${error.message}, at the end of the archive (its gzip trailer: CRC-32 and length)`);
  }
}

/** An entry's body: read by `chunks`, and whatever it did not read is skipped (with its padding) before the next header. */
function entryOf(reader: ByteReader, path: string, entryName: string, length: number): { length: number; body: () => AsyncGenerator<Buffer> } {
  const left = { bytes: length, padded: false };
  const body = async function* (): AsyncGenerator<Buffer> {
    while (left.bytes > 0) {
      const part = await reader.some(Math.min(left.bytes, 1024 * 1024)).catch((error: unknown) => {
        // gzip's own end (cut short, damaged) met inside an entry: the entry is named.
        throw error instanceof TarError
          ? new TarError(`${error.message}, inside ${entryName} (${length - left.bytes} of ${length} bytes read)`)
          : error;
      });
      if (part.length === 0) throw new TarError(`${path} is cut short inside ${entryName} (${length - left.bytes} of ${length} bytes)`);
      left.bytes -= part.length;
      yield part;
    }
    const pad = padding(length);
    if (!left.padded && pad > 0 && (await reader.exact(pad)).length < pad) throw new TarError(`${path} is cut short after ${entryName}`);
    left.padded = true;
  };
  return { length, body };
}
