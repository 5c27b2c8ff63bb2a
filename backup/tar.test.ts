import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { TarError } from "./tar-header.ts";
import { readTar } from "./tar-reader.ts";
import { TarWriter } from "./tar-writer.ts";

const dir = mkdtempSync(join(tmpdir(), "org-tar-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A raw ustar header as another tar would write it, so the reader meets kinds and names org never writes. */
function rawHeader(name: string, flag: string, size: number, linkname = ""): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, "utf8");
  block.write("0000644\0", 100, 8, "ascii");
  block.write("0000000\0", 108, 8, "ascii");
  block.write("0000000\0", 116, 8, "ascii");
  block.write(`${size.toString(8).padStart(11, "0")}\0`, 124, 12, "ascii");
  block.write("00000000000\0", 136, 12, "ascii");
  block.write(flag, 156, 1, "ascii");
  block.write(linkname, 157, 100, "utf8");
  block.write("ustar\0", 257, 6, "ascii");
  block.write("00", 263, 2, "ascii");
  let sum = 0;
  for (let index = 0; index < 512; index += 1) sum += index >= 148 && index < 156 ? 32 : (block[index] ?? 0);
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "ascii");
  return block;
}

function rawArchive(name: string, blocks: Buffer[], end = true): string {
  const path = join(dir, name);
  writeFileSync(path, gzipSync(Buffer.concat([...blocks, ...(end ? [Buffer.alloc(1024)] : [])])));
  return path;
}

async function entries(path: string): Promise<{ name: string; type: string; text: string }[]> {
  const found = [];
  for await (const entry of readTar(path)) {
    const parts: Buffer[] = [];
    for await (const chunk of entry.chunks()) parts.push(chunk);
    found.push({ name: entry.name, type: entry.type, text: Buffer.concat(parts).toString("utf8") });
  }
  return found;
}

describe("the backup's tar: written as it goes, read back with nothing but files and folders", () => {
  test("files from disk and memory, a folder, a long name and a 3 MB file come back byte for byte, and system tar reads it too", async () => {
    const big = join(dir, "big");
    writeFileSync(big, Buffer.alloc(3_000_001, 7));
    const long = `workspace/.org/sessions/${"x".repeat(150)}.jsonl`;
    const writer = new TarWriter(join(dir, "a.tar.gz"));
    await writer.addDirectory("repo/.org");
    const small = await writer.addBytes("manifest.json", "{}\n");
    const large = await writer.addFile(long, big);
    expect(await writer.addFile("repo/.org/missing", join(dir, "no-such-file"))).toBeUndefined();
    await writer.finish();
    expect(small).toEqual({ name: "manifest.json", size: 3, sha256: new Bun.CryptoHasher("sha256").update("{}\n").digest("hex") });
    expect(large?.size).toBe(3_000_001);
    const read = await entries(join(dir, "a.tar.gz"));
    expect(read.map((entry) => [entry.type, entry.name])).toEqual([
      ["directory", "repo/.org/"],
      ["file", "manifest.json"],
      ["file", long],
    ]);
    expect(read[2]?.text).toBe(readFileSync(big, "utf8"));
    const listed = Bun.spawnSync(["tar", "-tzf", join(dir, "a.tar.gz")])
      .stdout.toString()
      .split("\n");
    expect(listed).toContain(long);
  });

  test("many files whose headers, bodies and paddings straddle the writer's 1 MiB batches come back byte for byte, each hash their own", async () => {
    const sizes = [0, 1, 511, 512, 513, 700_000, 349_000, 1_048_576, 1_048_063, 2_500_123, 4096, 12_345];
    const files = sizes.map((size, index) => {
      const path = join(dir, `batch-${index}`);
      // Bytes that differ from place to place: a body put in the wrong place or order shows.
      const bytes = Buffer.alloc(size);
      for (let at = 0; at < size; at += 1) bytes[at] = (at * 31 + index * 7 + (at >> 9)) & 0xff;
      writeFileSync(path, bytes);
      return { path, bytes, name: `repo/.org/f${index}` };
    });
    const writer = new TarWriter(join(dir, "batches.tar.gz"));
    const written = [];
    for (const [index, file] of files.entries()) {
      written.push(await writer.addFile(file.name, file.path));
      if (index === 5) written.push(await writer.addBytes("in-memory", Buffer.alloc(600_000, 3)));
    }
    await writer.finish();
    const read = new Map<string, Buffer>();
    for await (const entry of readTar(join(dir, "batches.tar.gz"))) {
      const parts: Buffer[] = [];
      for await (const chunk of entry.chunks()) parts.push(chunk);
      read.set(entry.name, Buffer.concat(parts));
    }
    for (const file of files) {
      expect({ name: file.name, same: read.get(file.name)?.equals(file.bytes) }).toEqual({ name: file.name, same: true });
      const entry = written.find((each) => each?.name === file.name);
      expect(entry).toEqual({ name: file.name, size: file.bytes.length, sha256: new Bun.CryptoHasher("sha256").update(file.bytes).digest("hex") });
    }
    expect(read.get("in-memory")?.equals(Buffer.alloc(600_000, 3))).toBe(true);
    expect(Bun.spawnSync(["tar", "-tzf", join(dir, "batches.tar.gz")]).exitCode).toBe(0);
  });

  test("a link, a hard link, a device and a FIFO are refused, naming the entry", async () => {
    for (const [flag, kind] of [
      ["2", "symbolic link"],
      ["1", "hard link"],
      ["3", "character device"],
      ["6", "FIFO"],
    ] as const) {
      const path = rawArchive(`kind-${flag}.tar.gz`, [rawHeader("repo/.org/sessions/evil.jsonl", flag, 0, "/etc/passwd")]);
      const error = await entries(path).catch((caught: unknown) => caught);
      expect(error, kind).toBeInstanceOf(TarError);
      expect((error as Error).message).toContain('"repo/.org/sessions/evil.jsonl"');
      expect((error as Error).message).toContain(`tar type '${flag}'`);
    }
  });

  test("an archive cut short, inside an entry or before its end blocks, says so; a damaged header and non-gzip bytes are refused", async () => {
    const body = Buffer.alloc(2000, 65);
    const cut = rawArchive("cut.tar.gz", [rawHeader("repo/.org/a", "0", 2000), body.subarray(0, 700)], false);
    await expect(entries(cut)).rejects.toThrow(`cut short inside the entry "repo/.org/a" (700 of 2000 bytes)`);
    const noEnd = rawArchive("no-end.tar.gz", [rawHeader("repo/.org/a", "0", 5), Buffer.concat([Buffer.from("hello"), Buffer.alloc(507)])], false);
    await expect(entries(noEnd)).rejects.toThrow('ends after the entry "repo/.org/a" without the end-of-archive blocks');
    const header = rawHeader("repo/.org/a", "0", 0);
    header[0] = "b".charCodeAt(0);
    await expect(entries(rawArchive("damaged.tar.gz", [header]))).rejects.toThrow("checksum does not match");
    const after = rawArchive("after-end.tar.gz", [Buffer.alloc(1024), Buffer.from("hidden after the end")], false);
    await expect(entries(after)).rejects.toThrow("has data after its end-of-archive blocks");
    const halfEnd = rawArchive("half-end.tar.gz", [Buffer.alloc(512)], false);
    await expect(entries(halfEnd)).rejects.toThrow("is cut short in its end-of-archive blocks");
    writeFileSync(join(dir, "plain.txt"), "not gzip at all");
    await expect(entries(join(dir, "plain.txt"))).rejects.toThrow("is not a gzipped archive org wrote");
  });
});
