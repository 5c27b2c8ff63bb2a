import { z } from "zod";
import { GENERATED_TOOL_FILES, TOOL_NAME_PATTERN } from "../config/workspace-paths.ts";
import { OBJECT_ID_PATTERN } from "../git/ref-names.ts";
import { randomHex } from "../concurrency/random-hex.ts";

// What travels through the team's remote. An offer is a parentless commit on `refs/org/offers/<tool>/<id>` whose tree
// is `offer.json` beside `files/<name>` (the tool's files exactly as promoted); a recall one on
// `refs/org/recalls/<tool>/<offer id>` holding `recall.json`. Both are signed with git's SSH signing, and what they say
// is believed only once the signature, the signer and the hashes hold (`verify-offer.ts`).

/** `<UTC time to the millisecond>-<8 hex>`: ordered by time, unique without asking anyone. */
export const OFFER_ID_PATTERN = /^\d{8}T\d{9}Z-[0-9a-f]{8}$/;
export const OFFERS_NAMESPACE = "refs/org/offers/";
export const RECALLS_NAMESPACE = "refs/org/recalls/";
/** Where a pull keeps what it fetched, apart from every ref of the person's own. */
export const INCOMING_PREFIX = "refs/org/incoming/";
export const OFFER_FILE = "offer.json";
export const RECALL_FILE = "recall.json";
export const FILES_DIR = "files";

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const Commit = z.string().regex(OBJECT_ID_PATTERN);
const OfferId = z.string().regex(OFFER_ID_PATTERN);
const ToolName = z.string().regex(TOOL_NAME_PATTERN);

/** `offer.json`: the tool, its files' hashes, how the publisher's gate judged it, and who offered it when. */
export const OfferManifest = z.strictObject({
  version: z.literal(1),
  id: OfferId,
  tool: ToolName,
  files: z.partialRecord(z.enum(GENERATED_TOOL_FILES), Sha256),
  fitness: z.strictObject({
    verdict: z.literal("pass"),
    stages: z.array(z.strictObject({ stage: z.string().max(40), name: z.string().max(200), ok: z.boolean() })).max(100),
    /** The scenario files the gate ran, by name: their sha256. */
    corpus: z.record(z.string().max(200), Sha256),
    /** org's code the gate judged against (main then), and the candidate commit it passed. */
    code: Commit,
    judged: Commit,
    summary: z.string().max(4000),
  }),
  provenance: z.strictObject({
    who: z.string().max(300),
    at: z.iso.datetime(),
    machine: z.string().max(100).optional(),
  }),
});
export type OfferManifest = z.infer<typeof OfferManifest>;

/** `recall.json`: the publisher takes an offer back, and why. */
export const RecallManifest = z.strictObject({
  version: z.literal(1),
  tool: ToolName,
  offer: OfferId,
  reason: z.string().max(1000),
  at: z.iso.datetime(),
});
export type RecallManifest = z.infer<typeof RecallManifest>;

/** A fresh offer id for `now`. */
export function newOfferId(now: Date): string {
  return `${now.toISOString().replace(/[-:]/g, "").replace(".", "")}-${randomHex(4)}`;
}

/** The ref an offer or a recall of `tool` is kept under on the remote. */
export function shareRef(kind: "offers" | "recalls", tool: string, id: string): string {
  if (!TOOL_NAME_PATTERN.test(tool) || !OFFER_ID_PATTERN.test(id)) throw new Error(`no share ref for ${JSON.stringify(tool)} ${JSON.stringify(id)}`);
  return `refs/org/${kind}/${tool}/${id}`;
}

/** The kind, tool and id a fetched ref's name says (under `INCOMING_PREFIX`); undefined for any other name. */
export function parseIncomingRef(ref: string): { kind: "offers" | "recalls"; tool: string; id: string } | undefined {
  const found = /^refs\/org\/incoming\/(offers|recalls)\/([^/]+)\/([^/]+)$/.exec(ref);
  if (!found?.[1] || !found[2] || !found[3] || !TOOL_NAME_PATTERN.test(found[2]) || !OFFER_ID_PATTERN.test(found[3])) return undefined;
  return { kind: found[1] === "offers" ? "offers" : "recalls", tool: found[2], id: found[3] };
}

/** The sha256 of a file's bytes, hex. */
export function fileSha256(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}
