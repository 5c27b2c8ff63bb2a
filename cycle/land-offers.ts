import { existsSync } from "node:fs";
import { join } from "node:path";
import type { OrgConfig } from "../config/org-config.ts";
import { RESERVED_TOOL_NAMES } from "../config/tool-names.ts";
import { GENERATED_TOOL_FILES, generatedToolPath, ORG_DIR, TOOL_NAME_PATTERN } from "../config/workspace-paths.ts";
import { landCandidate } from "../git/candidate-branch.ts";
import { candidateWorktreeDir } from "../git/candidate-worktree.ts";
import { toolFolderTree } from "../git/tool-tree.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { type OfferRecord, offerKey, offersById, readShareState, updateOffer } from "../share/offer-state.ts";
import type { ShareAccess } from "../share/publish-offer.ts";
import { DEFAULT_PULL_BOUNDS, type LandableOffer, type PullBounds, pullOffers } from "../share/pull-offers.ts";
import { offerTrailers, originOfMessage, toolOrigin } from "../share/tool-origin.ts";
import { inProcessGateOptions } from "./in-process-gate.ts";
import { inProcessInstances } from "./in-process-instances.ts";
import { type CycleOutcome, promoteCandidate } from "./promote-candidate.ts";
import { promote, promoteSucceeded } from "./promote.ts";
import { promotionContext } from "./promotion-context.ts";
import type { RefChangeContext } from "./ref-change.ts";
import { rollback } from "./rollback.ts";
import { OrgError } from "../errors/org-error.ts";

/** How a landed offer is judged here: its branch through this machine's gate, promoted only when `promote` says so. */
export type OfferJudge = (branch: string, promote: boolean, signal: AbortSignal) => Promise<CycleOutcome>;

/** The judge `org share pull` uses: the gate against two in-process serves of the checkout, as `org grow` judges. */
export function inProcessOfferJudge(setup: SandboxAccess & { config: OrgConfig; access: ShareAccess; workspaceDir: string }): OfferJudge {
  const { config, access, sandbox, sandboxPolicy } = setup;
  const git = access.git;
  return async (branch, promote, signal) => {
    // A pull killed while judging left the candidate's worktree behind: the judge makes it again.
    const left = candidateWorktreeDir(git.repoDir, branch);
    if (existsSync(left)) await git.removeWorktree(left, signal);
    const instances = inProcessInstances({
      config,
      toolRepo: git,
      sandbox,
      sandboxPolicy,
      instanceWorkspace: (role) => join(setup.workspaceDir, ORG_DIR, `share-${role}`),
    });
    try {
      return await promoteCandidate({
        branch,
        instances,
        gate: () => inProcessGateOptions({ config, git, sandbox, sandboxPolicy }),
        ...(promote ? { promotion: { context: (log) => promotionContext({ repo: git, log, share: access }), restart: false } } : {}),
        signal,
      });
    } finally {
      await instances.close();
    }
  };
}

/** What one `org share pull` did, offer by offer. */
export type SharePullReport = {
  remote: string;
  /** Each offer this pull recorded or moved on, as it stands now. */
  offers: OfferRecord[];
  /** Recalls acted on: the tool, why, and the rollback tag when it was rolled back here. */
  recalls: { tool: string; offer: string; reason: string; rolledBack?: string; problem?: string }[];
  ignored: string[];
};

/**
 * `org share pull`: fetches and verifies (`share/pull-offers.ts`), then acts on the recalls (an offer promoted here is
 * rolled back through cycle's `rollback`, as `org rollback TOOL` does), then lands each trusted offer as a candidate
 * (`cand/<ts>`, trailers naming the offer) and has `judge` run this machine's gate on it, promoting only under
 * `autoPromote`. A name main holds for another tool is refused, saying so.
 */
export async function pullAndLand(request: {
  access: ShareAccess;
  judge: OfferJudge;
  autoPromote: boolean;
  /** The promotion context a recall's rollback runs in, and whether it restarts current. */
  rollbackContext: () => RefChangeContext;
  restart?: boolean;
  bounds?: PullBounds;
  onLine?: (line: string) => void;
  signal: AbortSignal;
}): Promise<SharePullReport> {
  const { access, judge, autoPromote, signal } = request;
  const say = request.onLine ?? (() => {});
  const pulled = await pullOffers(access, request.bounds ?? DEFAULT_PULL_BOUNDS);
  const touched = new Map<string, OfferRecord>(pulled.fresh.map((record) => [offerKey(record), record]));
  const report: SharePullReport = { remote: pulled.remote, offers: [], recalls: [], ignored: pulled.ignored };
  const recalled = new Set<string>();
  for (const recall of pulled.recalls) {
    const { record, reason } = recall;
    recalled.add(offerKey(record));
    const entry: SharePullReport["recalls"][number] = { tool: record.as ?? record.tool, offer: record.id, reason };
    // Rolled back only when main's copy of the tool is the one this offer brought (not a later one, nor one built here).
    // Whatever the state here says: it may have been promoted by 'org promote cand/…' as well as by 'org share promote'.
    const origin = await toolOrigin(access.git, entry.tool, signal);
    if (origin?.offerCommit === record.commit) {
      say(`recall of ${entry.tool} (offer ${record.id}, by ${recall.signer.principal}): ${reason}; rolling it back`);
      try {
        const { result } = await rollback(request.rollbackContext(), {
          restart: request.restart ?? false,
          target: { tool: entry.tool },
          reason: `recalled by ${recall.signer.principal}: ${reason}`,
        });
        if (result) entry.rolledBack = result.tag;
      } catch (error) {
        entry.problem = error instanceof Error ? error.message : String(error);
      }
    }
    touched.set(
      offerKey(record),
      updateOffer(access.home, offerKey(record), (now) => ({ ...(now ?? record), state: "recalled", reason: `recalled: ${reason}` })),
    );
    report.recalls.push(entry);
  }
  // Of several offers of one tool by one signer, the newest is landed; the older ones are superseded, never judged.
  const newest = new Map<string, string>();
  for (const { record, signer } of pulled.landable) {
    const tool = `${signer.fingerprint} ${record.tool}`;
    if ((newest.get(tool) ?? "") < record.id) newest.set(tool, record.id);
  }
  for (const offer of pulled.landable) {
    if (recalled.has(offerKey(offer.record))) continue;
    const latest = newest.get(`${offer.signer.fingerprint} ${offer.record.tool}`) ?? offer.record.id;
    if (latest !== offer.record.id && !offer.record.branch) {
      const reason = `superseded by ${offer.signer.principal}'s newer offer ${latest} of ${offer.record.tool}`;
      touched.set(
        offerKey(offer.record),
        updateOffer(access.home, offerKey(offer.record), (now) => ({ ...(now ?? offer.record), state: "refused", reason })),
      );
      continue;
    }
    const record = await landAndJudge(access, offer, { judge, autoPromote, say, signal });
    touched.set(offerKey(record), record);
  }
  report.offers = [...touched.values()];
  return report;
}

async function landAndJudge(
  access: ShareAccess,
  offer: LandableOffer,
  options: { judge: OfferJudge; autoPromote: boolean; say: (line: string) => void; signal: AbortSignal },
): Promise<OfferRecord> {
  const { git, home } = access;
  const { record, manifest, signer } = offer;
  const tool = record.as ?? manifest.tool;
  const set = (change: Partial<OfferRecord>) => updateOffer(home, offerKey(record), (now) => ({ ...(now ?? record), ...change }));
  let branch = record.branch;
  if (!branch || !(await git.resolveCommit(`refs/heads/${branch}`))) {
    const taken = await nameTakenBy(access, tool, signer.fingerprint, options.signal);
    if (taken) return set({ state: "refused", reason: taken });
    branch = (await candidateOfOffer(access, record.commit)) ?? (await landOffer(access, offer, tool)).branch;
    set({ state: "judging", branch });
  }
  options.say(`offer ${record.id} of ${tool} by ${signer.principal}: landed as ${branch}; judging it on this machine's gate`);
  const outcome = await options.judge(branch, options.autoPromote, options.signal);
  if (!outcome.ok || outcome.verdict !== "pass")
    return set({ state: "refused", branch, reason: `this machine's gate refused it: ${outcome.failure ?? outcome.verdict ?? "no verdict"}` });
  const promoted = outcome.promotion !== undefined && promoteSucceeded(outcome.promotion);
  return set({
    state: promoted ? "promoted" : "passed",
    branch,
    reason: promoted ? "promoted by share.autoPromote" : "passed: promote with 'org share promote ID'",
  });
}

/** Why `tool` may not land here: main holds a tool of that name that no offer of this signer brought; undefined when it may. */
async function nameTakenBy(access: ShareAccess, tool: string, fingerprint: string, signal: AbortSignal): Promise<string | undefined> {
  const main = await access.git.resolveCommit("refs/heads/main");
  if (!main || !(await toolFolderTree(access.git, main, tool, signal))) return undefined;
  const origin = await toolOrigin(access.git, tool, signal);
  if (origin?.fingerprint === fingerprint) return undefined;
  const whose = origin ? `an offer of ${origin.signer}'s` : "a tool built here";
  return `the name ${tool} is taken here by ${whose}: land this one under another name with 'org share land ID --as NAME'`;
}

/** A candidate branch a pull stopped before recording (killed after landing it), found by its trailer. */
async function candidateOfOffer(access: ShareAccess, offerCommit: string): Promise<string | undefined> {
  for (const ref of (await access.git.candidateRefs()).refs) {
    if (originOfMessage(await access.git.commitMessage(ref.commit))?.offerCommit === offerCommit) return ref.branch;
  }
  return undefined;
}

/** The offer's files as a candidate of `tool` on today's main, in one ref update; metadata's name follows `tool` when it lands renamed. */
async function landOffer(access: ShareAccess, offer: LandableOffer, tool: string) {
  const files: Record<string, string> = {};
  for (const name of GENERATED_TOOL_FILES) {
    const bytes = offer.files.get(name);
    if (!bytes) continue;
    const text = bytes.toString("utf8");
    files[generatedToolPath(tool, name)] = name === "metadata.json" && tool !== offer.manifest.tool ? renamedMetadata(text, tool) : text;
  }
  return await landCandidate(access.git, {
    files,
    subject: `offer: ${tool} from ${offer.signer.principal}`,
    body: `Offer ${offer.manifest.id} of ${offer.manifest.tool}, published by ${offer.manifest.provenance.who} at ${offer.manifest.provenance.at}.`,
    trailers: offerTrailers({
      offer: offer.manifest.id,
      signer: offer.signer.principal,
      fingerprint: offer.signer.fingerprint,
      offerCommit: offer.record.commit,
    }),
  });
}

/** metadata.json with the tool's name changed (the gate checks it against the folder's name). */
function renamedMetadata(text: string, tool: string): string {
  const metadata: unknown = JSON.parse(text);
  const spec = typeof metadata === "object" && metadata !== null && "spec" in metadata ? metadata.spec : undefined;
  if (typeof spec === "object" && spec !== null) Object.assign(spec, { name: tool });
  return `${JSON.stringify(metadata, null, 2)}\n`;
}

/** A refusal of `org share promote` or `org share land`: no such offer, or not in a state that allows it. */
export class OfferRefusedError extends OrgError {
  override name = "OfferRefusedError";
}

/** The one record `id` names (a prefix of 8 or more characters will do when it names one offer); refused when none or several. */
export function offerNamed(access: ShareAccess, id: string): OfferRecord {
  const found = offersById(readShareState(access.home), id);
  if (found.length === 0) throw new OfferRefusedError(`no offer ${JSON.stringify(id.slice(0, 60))} was pulled here: see 'org share list'`);
  // One id under several commits (a replay refused beside the offer itself): the one not refused.
  const exact = found.filter((record) => record.id === id);
  const usable = exact.length > 1 ? exact.filter((record) => record.state !== "refused") : exact.length === 1 ? exact : found;
  const [only] = usable;
  if (usable.length !== 1 || !only) throw new OfferRefusedError(`${id} names ${found.length} offers: give the whole id (org share list)`);
  return only;
}

/**
 * `org share promote ID`: merges the candidate an offer this machine's gate passed became, through the promote path
 * `org promote` takes (a passing report of this checkout's gate for that exact commit).
 */
export async function promoteOffer(access: ShareAccess, id: string, context: RefChangeContext, restart: boolean) {
  const record = offerNamed(access, id);
  if (record.state !== "passed" || !record.branch)
    throw new OfferRefusedError(
      `offer ${record.id} is ${record.state}${record.reason ? ` (${record.reason})` : ""}: only one this machine's gate passed is promoted`,
    );
  const outcome = await promote(context, { branch: record.branch, restart });
  if (promoteSucceeded(outcome))
    updateOffer(access.home, offerKey(record), (now) => ({ ...(now ?? record), state: "promoted", reason: "promoted by 'org share promote'" }));
  return { record, outcome };
}

/** `org share land ID --as NAME`: an offer refused for its name is made new again, to land under `name` on the next pull. */
export function renameOffer(access: ShareAccess, id: string, name: string): OfferRecord {
  if (!TOOL_NAME_PATTERN.test(name) || RESERVED_TOOL_NAMES.includes(name))
    throw new OfferRefusedError(`${JSON.stringify(name.slice(0, 60))} cannot name a generated tool: snake_case, not a built-in's name`);
  const record = offerNamed(access, id);
  if (record.state !== "refused" || !record.reason?.startsWith("the name "))
    throw new OfferRefusedError(`offer ${record.id} is ${record.state}: only an offer refused for its name lands under another`);
  return updateOffer(access.home, offerKey(record), (now) => {
    const { reason: _reason, branch: _branch, ...kept } = now ?? record;
    return { ...kept, state: "new", as: name };
  });
}
