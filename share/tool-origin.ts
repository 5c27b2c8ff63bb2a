import { toolPromotions } from "../git/last-promotion.ts";
import { CANDIDATE_BRANCH_PATTERN } from "../git/ref-names.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { commitParents } from "../git/share-git.ts";
import { updateOffer, readShareState } from "./offer-state.ts";
import type { ShareHome } from "./share-home.ts";

/** Where a promoted tool came from when a teammate's offer brought it: the offer, its signer and key, and its commit. */
export type ToolOrigin = { offer: string; signer: string; fingerprint: string; offerCommit?: string };

/** The trailers a landed offer's candidate commit carries (`cycle/land-offers.ts` writes them). */
export function offerTrailers(origin: ToolOrigin & { offerCommit: string }): Record<string, string> {
  return { "Org-Offer": origin.offer, "Org-Offer-Signer": `${origin.signer} ${origin.fingerprint}`, "Org-Offer-Commit": origin.offerCommit };
}

/** The offer a candidate commit's message names in its trailers, if any. */
export function originOfMessage(message: string): ToolOrigin | undefined {
  const offer = /^Org-Offer: (\S+)$/m.exec(message)?.[1];
  const signer = /^Org-Offer-Signer: (\S+) (SHA256:\S+)$/m.exec(message);
  if (!offer || !signer?.[1] || !signer[2]) return undefined;
  const offerCommit = /^Org-Offer-Commit: ([0-9a-f]{40,64})$/m.exec(message)?.[1];
  return { offer, signer: signer[1], fingerprint: signer[2], ...(offerCommit ? { offerCommit } : {}) };
}

/**
 * Where `tool` as main holds it now came from: the offer named by the candidate its promotion merged, or undefined when
 * it was built here (or committed by hand).
 */
export async function toolOrigin(git: RepoGit, tool: string, signal?: AbortSignal): Promise<ToolOrigin | undefined> {
  const promotion = (await toolPromotions(git, new Set([tool]), signal)).get(tool);
  const candidate = promotion ? (await commitParents(git, promotion.commit, signal))[1] : undefined;
  return candidate ? originOfMessage(await git.commitMessage(candidate, signal)) : undefined;
}

/** Where each of `tools` as main holds it came from (`toolOrigin`, with one walk of the promotions): only those an offer brought. */
export async function toolOrigins(git: RepoGit, tools: readonly string[], signal?: AbortSignal): Promise<Map<string, ToolOrigin>> {
  const found = new Map<string, ToolOrigin>();
  for (const [tool, promotion] of await toolPromotions(git, new Set(tools), signal)) {
    const candidate = (await commitParents(git, promotion.commit, signal))[1];
    const origin = candidate ? originOfMessage(await git.commitMessage(candidate, signal)) : undefined;
    if (origin) found.set(tool, origin);
  }
  return found;
}

/** The offer candidate branch `branch` came from (its commit's trailers), or undefined for one built here. */
export async function candidateOrigin(git: RepoGit, branch: string, signal?: AbortSignal): Promise<ToolOrigin | undefined> {
  if (!CANDIDATE_BRANCH_PATTERN.test(branch)) return undefined;
  return originOfMessage(await git.commitMessage(`refs/heads/${branch}`, signal).catch(() => ""));
}

/**
 * After `branch` was promoted by any front end (`org promote`, the web room's Promote, `org share promote`): the offer
 * it was landed from, passed by this machine's gate, is marked promoted here; its id, or undefined for a candidate built here.
 */
export async function markOfferPromoted(home: ShareHome, git: RepoGit, branch: string, signal?: AbortSignal): Promise<string | undefined> {
  const origin = await candidateOrigin(git, branch, signal);
  if (!origin) return undefined;
  for (const [key, record] of Object.entries(readShareState(home).offers)) {
    if (record.id !== origin.offer || record.fingerprint !== origin.fingerprint || record.state !== "passed") continue;
    updateOffer(home, key, (now) => ({ ...(now ?? record), state: "promoted", reason: `promoted with ${branch}` }));
  }
  return origin.offer;
}
