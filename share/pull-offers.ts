import { rmSync } from "node:fs";
import { quarantinedFetch, refsUnder, remoteRefs, ShareRemoteError } from "../git/share-git.ts";
import { deadOwnersTempDirs } from "../security/owned-temp-dir.ts";
import { INCOMING_PREFIX, OFFERS_NAMESPACE, type OfferManifest, parseIncomingRef, RECALLS_NAMESPACE } from "./offer.ts";
import { type OfferRecord, offerKey, readShareState, writeShareState } from "./offer-state.ts";
import type { ShareAccess } from "./publish-offer.ts";
import { allowedSignersFile, readShareSettings, ShareSetupError } from "./share-home.ts";
import { refusedForTrust, type Signer, verifyOffer, verifyRecall } from "./verify-offer.ts";

/** The bounds of one pull: refs the remote may offer, and bytes it may send. */
export type PullBounds = { maxRefs: number; maxBytes: number };
export const DEFAULT_PULL_BOUNDS: PullBounds = { maxRefs: 1000, maxBytes: 64 * 1024 * 1024 };

/** An offer this pull verified and that waits to land here. */
export type LandableOffer = { record: OfferRecord; manifest: OfferManifest; files: Map<string, Buffer>; signer: Signer };
/** A verified recall of an offer this machine took. */
export type VerifiedRecall = { record: OfferRecord; reason: string; signer: Signer };

/** What a pull fetched and made of it; every refusal is a record with its reason. */
export type PullResult = {
  remote: string;
  /** Offers seen for the first time by this pull, refused ones included. */
  fresh: OfferRecord[];
  landable: LandableOffer[];
  recalls: VerifiedRecall[];
  /** Recalls refused, and refs whose names are none org writes: why. */
  ignored: string[];
};

/**
 * Fetches the remote's offers and recalls into a namespace of their own (bounded: more refs than `maxRefs` or more bytes
 * than `maxBytes` is refused, nothing kept), verifies each new one, and records it here as `new` or `refused` (why).
 * Offers already recorded as `new` or `judging` (a pull stopped before judging them) are handed back to land again; one
 * refused because its key was not trusted is verified again (the person may have trusted it since). The person's own
 * offers and recalls (published from this org folder) are left alone.
 */
export async function pullOffers(access: ShareAccess, bounds: PullBounds = DEFAULT_PULL_BOUNDS): Promise<PullResult> {
  const { git, home, person } = access;
  const remote = readShareSettings(home).remote;
  if (!remote) throw new ShareSetupError("no share remote is set: name the team's with 'org share remote URL'");
  // A pull killed mid-fetch left its quarantine behind; its owner is gone.
  for (const left of deadOwnersTempDirs()) if (left.kind === "share-fetch") rmSync(left.path, { recursive: true, force: true });
  const offered = await remoteRefs(person, git.repoDir, remote, [`${OFFERS_NAMESPACE}*`, `${RECALLS_NAMESPACE}*`]);
  if (offered.size > bounds.maxRefs)
    throw new ShareRemoteError(
      `the share remote ${remote} offers ${offered.size} refs, more than the ${bounds.maxRefs} a pull takes: refused, nothing fetched`,
    );
  await quarantinedFetch(git, person, remote, [OFFERS_NAMESPACE, RECALLS_NAMESPACE], INCOMING_PREFIX, bounds);

  const signers = allowedSignersFile(home);
  const state = readShareState(home);
  const fetched = [...(await refsUnder(git, INCOMING_PREFIX, person.signal))];
  const incoming = fetched.flatMap(([ref, commit]) => {
    const parsed = parseIncomingRef(ref);
    return parsed ? [{ ...parsed, commit }] : [];
  });
  const ignored = fetched
    .map(([ref]) => ref)
    .filter((ref) => !parseIncomingRef(ref))
    .map((ref) => `${ref}: not a name org writes`);
  const result: PullResult = { remote, fresh: [], landable: [], recalls: [], ignored };
  const now = () => new Date().toISOString();
  // What this person published is theirs already: neither an offer to take nor one to refuse for their own key.
  const own = new Set(state.published.map((published) => `${published.tool}/${published.id}`));
  // Oldest first, so that a signer's newer offer of a tool is what counts as seen when an older one comes after it.
  for (const offer of incoming.filter((entry) => entry.kind === "offers").sort((a, b) => a.id.localeCompare(b.id))) {
    if (own.has(`${offer.tool}/${offer.id}`)) continue;
    const seen = state.offers[offerKey(offer)];
    // Refused only because its key was not trusted here: checked again, as if new, since the key may be trusted now.
    const untrusted = seen?.state === "refused" && refusedForTrust(seen.reason);
    const known = untrusted ? undefined : seen;
    if (known && known.state !== "new" && known.state !== "judging") continue;
    const verified = await verifyOffer(git, person, offer, signers, state, known !== undefined);
    if (untrusted && !verified.ok && verified.reason === seen.reason) continue;
    const signer = verified.signer ? { signer: verified.signer.principal, fingerprint: verified.signer.fingerprint } : {};
    const record: OfferRecord = verified.ok
      ? { ...(known ?? {}), id: offer.id, tool: offer.tool, commit: offer.commit, state: known?.state ?? "new", ...signer, at: now() }
      : { id: offer.id, tool: offer.tool, commit: offer.commit, state: "refused", reason: verified.reason, ...signer, at: now() };
    state.offers[offerKey(offer)] = record;
    if (!known) result.fresh.push(record);
    if (verified.ok) result.landable.push({ record, manifest: verified.manifest, files: verified.files, signer: verified.signer });
  }
  for (const recall of incoming.filter((entry) => entry.kind === "recalls")) {
    if (own.has(`${recall.tool}/${recall.id}`)) continue;
    const verified = await verifyRecall(git, person, recall, signers);
    if (!verified.ok) {
      result.ignored.push(`recall of ${recall.tool} ${recall.id}: ${verified.reason}`);
      continue;
    }
    // Only the signer of an offer can recall it.
    const taken = Object.values(state.offers).filter(
      (record) =>
        record.id === recall.id && record.tool === recall.tool && record.fingerprint === verified.signer.fingerprint && record.state !== "recalled",
    );
    for (const record of taken) result.recalls.push({ record, reason: verified.manifest.reason, signer: verified.signer });
  }
  writeShareState(home, state);
  return result;
}
