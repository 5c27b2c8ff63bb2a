import { existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ensureUserOrgDir, readUserFile, UserOrgDirError, writeUserFile } from "../config/user-org-dir.ts";
import { OBJECT_ID_PATTERN } from "../git/ref-names.ts";
import { OFFER_ID_PATTERN } from "./offer.ts";
import { SHARE_DIR, type ShareHome } from "./share-home.ts";

// What this person's org made of each offer it fetched, kept in their org folder beside the keys they trust (not in a
// workspace's `.org/`, which a clone or an archive can carry): which offers were seen from which signer is what stops a
// replay, and it must not be something a repository can reset. Written whole and renamed into place, so a pull killed
// at any point leaves the file as it was before or after one step.

/** Where an offer stands here. */
export const OFFER_STATES = ["new", "judging", "passed", "promoted", "refused", "recalled"] as const;
export const OfferStateName = z.enum(OFFER_STATES);
export type OfferStateName = z.infer<typeof OfferStateName>;

/** One fetched offer, kept under `offerKey`: the same commit under two refs is two records, and so are two commits under one. */
export const OfferRecord = z.strictObject({
  id: z.string().max(100),
  tool: z.string().max(100),
  commit: z.string().regex(OBJECT_ID_PATTERN),
  state: OfferStateName,
  /** Why it was refused or recalled, or what the gate said. */
  reason: z.string().max(2000).optional(),
  /** The trusted name and key fingerprint that signed it (absent for an offer refused before its signer was known). */
  signer: z.string().max(100).optional(),
  fingerprint: z.string().max(100).optional(),
  /** The name it lands under here (`--as`), when not its own. */
  as: z.string().max(100).optional(),
  /** The candidate branch it became here. */
  branch: z.string().max(100).optional(),
  at: z.iso.datetime(),
});
export type OfferRecord = z.infer<typeof OfferRecord>;

/** An offer this person published: a rollback of its tool here publishes a recall of it. */
export const PublishedOffer = z.strictObject({
  id: z.string().regex(OFFER_ID_PATTERN),
  tool: z.string().max(100),
  commit: z.string(),
  at: z.iso.datetime(),
});
export type PublishedOffer = z.infer<typeof PublishedOffer>;

const StateFile = z.strictObject({
  version: z.literal(1),
  offers: z.record(z.string(), OfferRecord),
  published: z.array(PublishedOffer),
});
export type ShareState = z.infer<typeof StateFile>;

const statePath = (home: ShareHome) => join(home.dir, SHARE_DIR, "offers.json");

/** The share state (empty when nothing was fetched or published yet). */
export function readShareState(home: ShareHome): ShareState {
  const path = statePath(home);
  if (!existsSync(path)) return { version: 1, offers: {}, published: [] };
  const text = readUserFile(path, join(home.dir, SHARE_DIR));
  const parsed = text === undefined ? undefined : StateFile.safeParse(JSON.parse(text));
  if (!parsed?.success) throw new UserOrgDirError(`${path} is not the share state org wrote: move it away, and pull again`);
  return parsed.data;
}

/** Writes the state whole (renamed into place, fsynced). */
export function writeShareState(home: ShareHome, state: ShareState): void {
  ensureUserOrgDir(home.dir, SHARE_DIR);
  writeUserFile(statePath(home), `${JSON.stringify(state, null, 1)}\n`);
}

/** The key a record is kept under: the ref it came by and the commit it named. */
export function offerKey(offer: { tool: string; id: string; commit: string }): string {
  return `${offer.tool}/${offer.id}/${offer.commit}`;
}

/** Reads the state, changes one record (by `offerKey`) and writes it back; the record after. */
export function updateOffer(home: ShareHome, key: string, change: (record: OfferRecord | undefined) => OfferRecord): OfferRecord {
  const state = readShareState(home);
  const record = OfferRecord.parse({ ...change(state.offers[key]), at: new Date().toISOString() });
  state.offers[key] = record;
  writeShareState(home, state);
  return record;
}

/** The records whose id is `id` (or whose id starts with it), newest state first. */
export function offersById(state: ShareState, id: string): OfferRecord[] {
  return Object.values(state.offers).filter((record) => record.id === id || (id.length >= 8 && record.id.startsWith(id)));
}
