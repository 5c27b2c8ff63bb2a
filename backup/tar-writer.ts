import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { createWriteStream, type WriteStream } from "node:fs";
import { createGzip, type Gzip } from "node:zlib";
import { BLOCK, entryHeader, padding } from "./tar-header.ts";

/** What an entry written holds, for the manifest. */
export type WrittenEntry = { name: string; size: number; sha256: string };

const CHUNK = 1024 * 1024;
const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = constants;

/** A file changed under the writer (it shrank while read): the backup is not taken from it. */
export class SourceChangedError extends Error {
  override name = "SourceChangedError";
}

/**
 * A gzipped tar written as it goes, to a file opened with O_EXCL (0600): entries are streamed from disk, each hashed
 * (SHA-256) while written, so a backup of any size needs little memory. Headers, contents and paddings are gathered in
 * a 1 MiB batch, files read straight into it, and gzip takes whole batches: a write to the stream per header, body
 * and padding (three per file, 30 000 for a backup of 10 000 sessions) cost more than compressing them.
 */
export class TarWriter {
  readonly #gzip: Gzip;
  readonly #file: WriteStream;
  readonly #closed: Promise<void>;
  #failure: Error | undefined;
  #batch = Buffer.allocUnsafe(CHUNK);
  #used = 0;

  constructor(path: string, level = 6) {
    this.#file = createWriteStream(path, { flags: "wx", mode: 0o600 });
    this.#gzip = createGzip({ level });
    this.#gzip.pipe(this.#file);
    const fail = (error: Error) => {
      this.#failure ??= error;
    };
    this.#gzip.on("error", fail);
    this.#file.on("error", fail);
    this.#closed = new Promise((resolve, reject) => {
      this.#file.on("close", () => (this.#failure ? reject(this.#failure) : resolve()));
      this.#file.on("error", reject);
    });
  }

  /** Hands the batch to gzip (a new one is begun: the stream keeps what it was given until it has read it). */
  async #flush(): Promise<void> {
    if (this.#failure) throw this.#failure;
    if (this.#used === 0) return;
    const full = this.#batch.subarray(0, this.#used);
    this.#batch = Buffer.allocUnsafe(CHUNK);
    this.#used = 0;
    if (!this.#gzip.write(full)) await new Promise<void>((resolve) => this.#gzip.once("drain", resolve));
  }

  /** Room for `bytes` more in the batch, flushed first when it has less; returns how much room there is (at most `bytes`). */
  async #room(bytes: number): Promise<number> {
    if (this.#used + Math.min(bytes, CHUNK) > CHUNK) await this.#flush();
    return Math.min(bytes, CHUNK - this.#used);
  }

  async #write(chunk: Buffer): Promise<void> {
    for (let at = 0; at < chunk.length; ) {
      const room = await this.#room(chunk.length - at);
      chunk.copy(this.#batch, this.#used, at, at + room);
      this.#used += room;
      at += room;
    }
  }

  async #zeros(count: number): Promise<void> {
    for (let left = count; left > 0; ) {
      const room = await this.#room(left);
      this.#batch.fill(0, this.#used, this.#used + room);
      this.#used += room;
      left -= room;
    }
  }

  /** Adds a folder entry. */
  async addDirectory(name: string, mtime = Date.now() / 1000): Promise<void> {
    await this.#write(entryHeader({ name: name.endsWith("/") ? name : `${name}/`, type: "directory", size: 0, mode: 0o700, mtime }));
  }

  /** Adds bytes held in memory as the file `name`. */
  async addBytes(name: string, bytes: Buffer | string, mtime = Date.now() / 1000): Promise<WrittenEntry> {
    const body = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
    await this.#write(entryHeader({ name, type: "file", size: body.length, mode: 0o600, mtime }));
    await this.#write(body);
    await this.#zeros(padding(body.length));
    return { name, size: body.length, sha256: new Bun.CryptoHasher("sha256").update(body).digest("hex") };
  }

  /**
   * Adds the regular file at `path` (no link followed, no FIFO waited on) as `name`: the bytes it holds when opened.
   * An append-only file that grows meanwhile is taken up to its size then; one that shrinks throws SourceChangedError.
   * Undefined when `path` is gone or not a regular file.
   */
  async addFile(name: string, path: string): Promise<WrittenEntry | undefined> {
    let fd: number;
    try {
      fd = openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch {
      return undefined;
    }
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) return undefined;
      const size = stat.size;
      await this.#write(entryHeader({ name, type: "file", size, mode: 0o600, mtime: stat.mtimeMs / 1000 }));
      const hash = new Bun.CryptoHasher("sha256");
      for (let at = 0; at < size; ) {
        const room = await this.#room(size - at);
        const got = readSync(fd, this.#batch, this.#used, room, at);
        if (got <= 0) throw new SourceChangedError(`${path} shrank while it was backed up (${at} of ${size} bytes read)`);
        hash.update(this.#batch.subarray(this.#used, this.#used + got));
        this.#used += got;
        at += got;
      }
      await this.#zeros(padding(size));
      return { name, size, sha256: hash.digest("hex") };
    } finally {
      closeSync(fd);
    }
  }

  /** Ends the archive (two blocks of zeros), flushes gzip and closes the file. */
  async finish(): Promise<void> {
    await this.#zeros(BLOCK * 2);
    await this.#flush();
    this.#gzip.end();
    await this.#closed;
  }

  /** Stops writing (the caller removes the partial file). */
  async abort(): Promise<void> {
    this.#gzip.destroy();
    this.#file.destroy();
    await this.#closed.catch(() => {});
  }
}
