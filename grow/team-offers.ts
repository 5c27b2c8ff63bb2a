// The team's offers grow may propose instead of building: only what `org share pull` fetched and verified here (a good
// signature by a key this person still trusts, the files matching the signed hashes), read from the share state in the
// person's org folder and by the commit that state names, never by a ref (a ref under refs/org/incoming/ is whatever
// the remote sent). Grow never fetches: an offer the last pull did not verify is not known here.
import { join } from "node:path";
import type { RepoGit } from "../git/repo-git.ts";
import { OFFER_REGISTRY_DATABASE_PATH } from "../registry/registry-database.ts";
import { ToolRegistry } from "../registry/tool-registry.ts";
import { gitBlobId, type ToolSource } from "../registry/tool-sources.ts";
import { FILES_DIR, fileSha256, OFFER_FILE, OfferManifest } from "../share/offer.ts";
import { type OfferRecord, offerKey, readShareState } from "../share/offer-state.ts";
import { readShareSettings, type ShareHome, trustedKeys } from "../share/share-home.ts";
import type { ProposalOffer } from "./proposal.ts";

/** A verified offer of a teammate's that may cover a need: what a proposal records of it, and its metadata.json. */
export type TeamOffer = ProposalOffer & { key: string; metadata: string };

/** What to run for an offer in `record`'s state; undefined for a state that leaves nothing to run (promoted, refused, recalled). */
function nextStep(record: OfferRecord): string | undefined {
  switch (record.state) {
    case "new":
    case "judging":
      return "org share pull";
    case "passed":
      return `org share promote ${record.id}`;
    case "refused":
      // Refused only because main holds its name for another tool: verified, and waits for a name of the person's.
      return record.reason?.startsWith("the name ") ? `org share land ${record.id} --as NAME, then org share pull` : undefined;
    default:
      return undefined;
  }
}

/** The offer's metadata.json, read by the verified commit and checked against the hash its signed offer.json gives. */
async function verifiedMetadata(git: RepoGit, record: OfferRecord, signal: AbortSignal): Promise<string | undefined> {
  try {
    const manifest = OfferManifest.parse(JSON.parse(await git.readBlob(`${record.commit}:${OFFER_FILE}`, signal)));
    if (manifest.id !== record.id || manifest.tool !== record.tool) return undefined;
    const metadata = await git.readBlob(`${record.commit}:${FILES_DIR}/metadata.json`, signal);
    return fileSha256(Buffer.from(metadata, "utf8")) === manifest.files["metadata.json"] ? metadata : undefined;
  } catch (error) {
    if (signal.aborted) throw error;
    return undefined;
  }
}

/**
 * The offers this machine's last pulls verified whose signer is still trusted here and that wait on something to run
 * (the newest of each signer's tool); none when no share remote is set.
 */
export async function teamOffers(home: ShareHome, git: RepoGit, signal: AbortSignal): Promise<TeamOffer[]> {
  if (!readShareSettings(home).remote) return [];
  const trusted = new Set(trustedKeys(home).map((key) => key.fingerprint));
  const newest = new Map<string, OfferRecord>();
  for (const record of Object.values(readShareState(home).offers)) {
    if (!record.signer || !record.fingerprint || !trusted.has(record.fingerprint) || !nextStep(record)) continue;
    const mine = `${record.fingerprint} ${record.tool}`;
    if ((newest.get(mine)?.id ?? "") < record.id) newest.set(mine, record);
  }
  const offers: TeamOffer[] = [];
  for (const record of newest.values()) {
    const run = nextStep(record);
    if (!run || !record.signer || !record.fingerprint) continue;
    if (record.state === "passed" && !(record.branch && (await git.resolveCommit(`refs/heads/${record.branch}`)))) continue;
    const metadata = await verifiedMetadata(git, record, signal);
    if (metadata === undefined) continue;
    offers.push({ id: record.id, tool: record.tool, signer: record.signer, fingerprint: record.fingerprint, run, key: offerKey(record), metadata });
  }
  return offers;
}

/** A registry over `offers` (their name, description, fields and examples), in a cache of its own under the checkout's `.org/`. */
export function offerRegistry(repoDir: string, offers: readonly TeamOffer[]): { registry: ToolRegistry; notices: string[] } {
  const sources: ToolSource[] = offers.map((offer) => ({
    key: `offer:${offer.key}`,
    name: offer.tool,
    origin: "candidate",
    blob: gitBlobId(Buffer.from(offer.metadata, "utf8")),
    label: `offer ${offer.id} of ${offer.tool}`,
    read: async () => offer.metadata,
  }));
  return ToolRegistry.open(repoDir, join(repoDir, OFFER_REGISTRY_DATABASE_PATH), async () => ({ sources, notices: [] }));
}
