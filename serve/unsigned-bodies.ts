import { HttpError } from "./http-error.ts";
import { CLOSE_CONNECTION } from "./read-bounded-body.ts";

/** The key every loopback address shares (see `clientKey`). */
export const LOOPBACK_CLIENT = "loopback";

/**
 * Who a request's unsigned body is counted against: its address, an IPv6 one by its /64 (one host's usual share). Every
 * loopback address (127.0.0.0/8, ::1) is one client, the machine itself: any local program can bind all 16 million of
 * 127/8, so keyed apart they would take every place of the global bound and lock out remote clients; keyed as one they
 * take one client's share. A local client that must not wait on other local programs signs the body's digest
 * (`x-org-content-sha256`), which takes no place at all.
 */
export function clientKey(address: string | undefined): string {
  if (address === undefined || address === "") return "(no socket)";
  const bare = address
    .toLowerCase()
    .replace(/%.*$/, "")
    .replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");
  if (/^127\.\d+\.\d+\.\d+$/.test(bare)) return LOOPBACK_CLIENT;
  if (!bare.includes(":")) return bare;
  const [head = "", tail = ""] = bare.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === "" ? [] : tail.split(":");
  const groups = bare.includes("::") ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right] : left;
  if (groups.length === 8 && groups.slice(0, 7).every((group) => /^0+$/.test(group)) && /^0*1$/.test(groups[7] ?? "")) return LOOPBACK_CLIENT;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

/**
 * The bodies being read before their signature can be checked, so from anybody: at most `perClient` at once from one
 * client (`clientKey`) and `total` from all, each the size of serve.maxBodyBytes at most. Past either, the next is
 * 429 at once, its body unread and its connection closed. Only counts are kept, and a client's entry goes when its
 * last body is done: nothing of a connection stays once it ends.
 */
export class UnsignedBodies {
  readonly #inFlight = new Map<string, number>();
  #total = 0;

  constructor(readonly limits: { perClient: number; total: number }) {}

  /** Takes a place for one body of `address`'s; the function returned gives it back (once, whatever happened). */
  enter(address: string | undefined): () => void {
    const key = clientKey(address);
    const mine = this.#inFlight.get(key) ?? 0;
    if (mine >= this.limits.perClient) {
      throw new HttpError(
        429,
        `${mine} signed requests of this client are still sending their bodies, as many as this server reads at once ` +
          `before a signature is checked (ORG_API_HMAC_BODIES_PER_CLIENT); wait for an answer, then send the next.`,
        { "retry-after": "1", ...CLOSE_CONNECTION },
      );
    }
    if (this.#total >= this.limits.total) {
      throw new HttpError(
        429,
        `${this.#total} signed requests are still sending their bodies, as many as this server reads at once before a ` +
          `signature is checked; retry in a second.`,
        { "retry-after": "1", ...CLOSE_CONNECTION },
      );
    }
    this.#inFlight.set(key, mine + 1);
    this.#total += 1;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.#total -= 1;
      const left = (this.#inFlight.get(key) ?? 1) - 1;
      if (left > 0) this.#inFlight.set(key, left);
      else this.#inFlight.delete(key);
    };
  }

  /** Bodies being read now, and the clients they come from (for tests and the bench). */
  get size(): { bodies: number; clients: number } {
    return { bodies: this.#total, clients: this.#inFlight.size };
  }
}
