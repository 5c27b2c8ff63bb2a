/** A file's type by its first bytes: [MIME type, what to call it], checked in order. */
const MAGIC: readonly { type: string; name: string; test: (head: Uint8Array) => boolean }[] = [
  { type: "image/png", name: "PNG image", test: (head) => startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { type: "image/jpeg", name: "JPEG image", test: (head) => startsWith(head, [0xff, 0xd8, 0xff]) },
  { type: "image/gif", name: "GIF image", test: (head) => ascii(head, 0, "GIF87a") || ascii(head, 0, "GIF89a") },
  { type: "image/webp", name: "WebP image", test: (head) => ascii(head, 0, "RIFF") && ascii(head, 8, "WEBP") },
  { type: "audio/wav", name: "WAV audio", test: (head) => ascii(head, 0, "RIFF") && ascii(head, 8, "WAVE") },
  { type: "application/pdf", name: "PDF document", test: (head) => ascii(head, 0, "%PDF-") },
  { type: "application/zip", name: "ZIP archive (also docx, xlsx, jar)", test: (head) => startsWith(head, [0x50, 0x4b, 0x03, 0x04]) },
  { type: "application/gzip", name: "gzip archive", test: (head) => startsWith(head, [0x1f, 0x8b]) },
  { type: "application/x-bzip2", name: "bzip2 archive", test: (head) => ascii(head, 0, "BZh") },
  { type: "application/x-xz", name: "xz archive", test: (head) => startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) },
  { type: "application/zstd", name: "zstd archive", test: (head) => startsWith(head, [0x28, 0xb5, 0x2f, 0xfd]) },
  { type: "application/x-7z-compressed", name: "7-Zip archive", test: (head) => startsWith(head, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]) },
  { type: "application/x-tar", name: "tar archive", test: (head) => ascii(head, 257, "ustar") },
  { type: "application/vnd.sqlite3", name: "SQLite database", test: (head) => ascii(head, 0, "SQLite format 3\0") },
  { type: "application/x-elf", name: "ELF executable", test: (head) => startsWith(head, [0x7f, 0x45, 0x4c, 0x46]) },
  { type: "audio/ogg", name: "Ogg audio", test: (head) => ascii(head, 0, "OggS") },
  { type: "audio/mpeg", name: "MP3 audio", test: (head) => ascii(head, 0, "ID3") || startsWith(head, [0xff, 0xfb]) },
  { type: "audio/flac", name: "FLAC audio", test: (head) => ascii(head, 0, "fLaC") },
  { type: "video/mp4", name: "MP4 video", test: (head) => ascii(head, 4, "ftyp") },
];

function startsWith(head: Uint8Array, bytes: readonly number[]): boolean {
  return bytes.every((byte, index) => head[index] === byte);
}

function ascii(head: Uint8Array, at: number, text: string): boolean {
  return [...text].every((char, index) => head[at + index] === char.charCodeAt(0));
}

/** What a file's first bytes say it is: a known magic number, else text (valid UTF-8, no NUL) or binary. */
export function sniffType(bytes: Uint8Array): { type: string; name: string } {
  const head = bytes.subarray(0, 4096);
  const known = MAGIC.find((entry) => entry.test(head));
  if (known) return { type: known.type, name: known.name };
  if (bytes.length === 0) return { type: "application/x-empty", name: "empty file" };
  if (!head.includes(0) && isUtf8(head)) return { type: "text/plain", name: "text" };
  return { type: "application/octet-stream", name: "binary data" };
}

function isUtf8(head: Uint8Array): boolean {
  // A cut at 4096 may split a character: allow an unfinished one at the end.
  for (let trim = 0; trim < 4; trim++) {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(head.subarray(0, head.length - trim));
      return true;
    } catch {}
  }
  return false;
}

/**
 * A file's type as the person and the model read it: what the sender declared (MIME type, parameters dropped) and what
 * its bytes look like; both said when they disagree, so a PNG sent as text/plain is not taken for text.
 */
export function describeType(declared: string, bytes: Uint8Array): string {
  const first = declared.split(";")[0]?.trim().toLowerCase() ?? "";
  // What a sender declares is hostile text: only a plain type/subtype is repeated.
  const said = /^[\w.+-]{1,60}\/[\w.+-]{1,60}$/.test(first) ? first : "";
  const sniffed = sniffType(bytes);
  if (said === "" || said === "application/octet-stream") return `${sniffed.type} (${sniffed.name}, by its bytes)`;
  if (said === sniffed.type) return `${said} (${sniffed.name})`;
  if (sniffed.type === "text/plain" && (said.startsWith("text/") || /json|xml|javascript|csv|yaml/.test(said))) return said;
  return `${said} as declared, but its bytes look like ${sniffed.name} (${sniffed.type})`;
}

/** The text the credential guard reads of a file: all of it when it is text, else its runs of printable characters. */
export function scannedText(bytes: Uint8Array, isText: boolean): string {
  const text = Buffer.from(bytes).toString(isText ? "utf8" : "latin1");
  return isText ? text : (text.match(/[\x20-\x7e\t\n\r]{8,}/g) ?? []).join("\n");
}
