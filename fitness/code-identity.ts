import { closeSync, constants, fstatSync, openSync, readdirSync, readSync } from "node:fs";
import { join } from "node:path";
import { CHECKOUT_DIR, GENERATED_TOOLS_DIR } from "../config/workspace-paths.ts";
import { canonicalJson } from "../config/canonical-json.ts";
import { errorCode } from "../concurrency/error-code.ts";

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = constants;
const sha256 = (data: string | Uint8Array) => new Bun.CryptoHasher("sha256").update(data).digest("hex");

/** The files that make up org's code and its configuration; documents and data are left out. */
const CODE_FILE = /\.(?:ts|tsx|js|mjs|cjs|json|toml)$/;
const MAX_READ_BYTES = 1024 * 1024;
const MAX_ENTRIES = 20_000;
const MAX_TOTAL_BYTES = 64 * 1024 * 1024;
/** What npm writes of the tree it installed: the packages the sandbox's toolchain mounts come from. */
const INSTALLED_TREE = "node_modules/.package-lock.json";

/** The checkout cannot be told by its code (a link, too many files, no org there): nothing is recorded or taken from a record. */
export class CodeIdentityError extends Error {
  override name = "CodeIdentityError";
}

/** A regular file's bytes, opened without following a link or blocking on a FIFO; undefined past `MAX_READ_BYTES`. */
function readCodeFile(path: string): { bytes?: Buffer; size: number; mtimeMs: number } {
  const fd = openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new CodeIdentityError(`${path} is no regular file`);
    if (stat.size > MAX_READ_BYTES) return { size: stat.size, mtimeMs: stat.mtimeMs };
    const bytes = Buffer.alloc(stat.size);
    let read = 0;
    while (read < stat.size) {
      const count = readSync(fd, bytes, read, stat.size - read, read);
      if (count === 0) break;
      read += count;
    }
    return { bytes: bytes.subarray(0, read), size: stat.size, mtimeMs: stat.mtimeMs };
  } finally {
    closeSync(fd);
  }
}

/**
 * The code org runs, hashed: what a validation, or a tool's tests run by the gate, depends on besides its inputs.
 * Every code and configuration file of the checkout org runs from as it is on disk (package.json,
 * package-lock.json, bunfig.toml and tsconfig.json among them), outside `tools/generated/`, dot-folders and
 * node_modules; the tree npm installed (`node_modules/.package-lock.json`: zod, fast-check, the types and the
 * compiler the sandbox mounts); and the bun running. The walk reads file types from the directory listings and
 * never opens `tools/generated/`, so computing it touches nothing a candidate can change (the gate's trace counts a
 * test that does as one that reads the candidate's tools).
 *
 * Throws `CodeIdentityError`, and callers then trust no record, when the checkout holds a link (bun follows it,
 * the hash would not), more than 20 000 entries or 64 MiB of code, no package.json, or, with `unchangedSince` (a
 * time in ms since the epoch), a code file changed after it: code on disk that is newer than the process that
 * ran is not the code that ran. A file over 1 MiB counts by its size and time.
 */
export function codeIdentity(checkoutDir: string = CHECKOUT_DIR, options: { unchangedSince?: number } = {}): string {
  const files: string[] = [];
  let entries = 0;
  let bytes = 0;
  const add = (path: string) => {
    const file = readCodeFile(join(checkoutDir, path));
    if (options.unchangedSince !== undefined && file.mtimeMs > options.unchangedSince)
      throw new CodeIdentityError(`${path} changed after this process started`);
    bytes += file.bytes?.length ?? 0;
    if (bytes > MAX_TOTAL_BYTES) throw new CodeIdentityError(`more than ${MAX_TOTAL_BYTES} bytes of code under ${checkoutDir}`);
    files.push(`${path}\0${file.bytes ? sha256(file.bytes) : `${file.size} ${file.mtimeMs}`}`);
  };
  const walk = (relative: string) => {
    for (const entry of readdirSync(join(checkoutDir, relative), { withFileTypes: true })) {
      entries += 1;
      if (entries > MAX_ENTRIES) throw new CodeIdentityError(`more than ${MAX_ENTRIES} entries under ${checkoutDir}`);
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.name.startsWith(".") || path === "node_modules" || path === GENERATED_TOOLS_DIR) continue;
      if (entry.isSymbolicLink()) throw new CodeIdentityError(`${path} is a link`);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && CODE_FILE.test(entry.name)) add(path);
    }
  };
  walk("");
  if (!files.some((file) => file.startsWith("package.json\0")))
    throw new CodeIdentityError(`${checkoutDir} holds no package.json: it is no checkout of org`);
  let installed = "none";
  try {
    const file = readCodeFile(join(checkoutDir, INSTALLED_TREE));
    installed = file.bytes ? sha256(file.bytes) : `${file.size} ${file.mtimeMs}`;
  } catch (error) {
    if (errorCode(error) !== "ENOENT") throw error;
  }
  return sha256(canonicalJson({ version: 2, files: files.sort(), installed, bun: `${Bun.version} ${Bun.revision}` }));
}
