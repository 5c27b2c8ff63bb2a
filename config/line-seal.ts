import { canonicalJson } from "./canonical-json.ts";
import { userTrustKey } from "./user-org-dir.ts";

// The seal of one line of an append-only JSON-lines file org writes in a workspace (a session's transcript, a day of the
// audit log): an HMAC under a key derived from the user's key (which never leaves the user's org folder) and the file
// it belongs to, over where the line stands and its text. A line is believed to be org's own, written on this machine
// by this user's org, only when its seal holds: a line a clone, an archive or a forged backup carries, a sealed line
// moved into another file or to another place, or edited, is not.

/** How a sealed line ends: `,"seal":"<32 hex digits>"}`, the last member of its JSON object. */
const SEAL_TAIL = /,"seal":"([0-9a-f]{32})"\}$/;
/** The characters of the tail: `,"seal":""}` and the 32 digits. */
const TAIL_CHARS = ',"seal":""}'.length + 32;

/** A key to seal and check the lines of one file; made with `lineSealer`. */
export class LineSealer {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    this.#key = key;
  }

  #mac(where: string, body: string): Buffer {
    // 128 bits of the HMAC: a forger's chance per try is 2^-128, and a transcript line grows by 42 bytes, not 74.
    return new Bun.CryptoHasher("sha256", this.#key).update(where).update("\n").update(body).digest().subarray(0, 16);
  }

  /** `body` (one JSON object's text, as JSON.stringify writes it) with its seal for place `where` as its last member. */
  seal(where: string, body: string): string {
    if (!body.endsWith("}") || body === "{}") return body;
    return `${body.slice(0, -1)},"seal":"${this.#mac(where, body).toString("hex")}"}`;
  }

  /** Whether `text` is a line this key sealed for place `where`; false for an unsealed line or any other. */
  holds(where: string, text: string): boolean {
    const seal = SEAL_TAIL.exec(text)?.[1];
    if (seal === undefined) return false;
    return crypto.timingSafeEqual(this.#mac(where, `${text.slice(0, -TAIL_CHARS)}}`), Buffer.from(seal, "hex"));
  }
}

/**
 * The sealer of the file named `file` (e.g. `transcript 20261127-…`), under the key of the user's org folder `home`:
 * made there when `create` and missing. Undefined when there is no key (and `create` is false), or no folder of the
 * user's can keep one: the file is then written unsealed (and read as nobody's words).
 */
export function lineSealer(home: string | undefined, file: string, create: boolean): LineSealer | undefined {
  let key: Buffer | undefined;
  try {
    key = userTrustKey(home, create);
  } catch {
    return undefined;
  }
  if (key === undefined) return undefined;
  return new LineSealer(new Bun.CryptoHasher("sha256", key).update(canonicalJson({ kind: "line seal", file })).digest());
}
