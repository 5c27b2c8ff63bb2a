import { gitEnvironment } from "../config/environment.ts";
import { userOrgDir } from "../config/user-org-dir.ts";
import { GENERATED_TOOL_FILES, TOOL_NAME_PATTERN } from "../config/workspace-paths.ts";
import { latestReport } from "../fitness/fitness-report.ts";
import { toolPromotions } from "../git/last-promotion.ts";
import type { RepoGit } from "../git/repo-git.ts";
import {
  commitParents,
  type PersonGit,
  personGitConfig,
  personIdentity,
  pushCommit,
  ShareRemoteError,
  shareTree,
  signedCommit,
} from "../git/share-git.ts";
import { toolFolderTree } from "../git/tool-tree.ts";
import { fileSha256, newOfferId, OFFER_FILE, type OfferManifest, RECALL_FILE, type RecallManifest, shareRef } from "./offer.ts";
import { readShareState, writeShareState } from "./offer-state.ts";
import { readShareSettings, ShareSetupError, type ShareHome } from "./share-home.ts";
import { toolOrigin } from "./tool-origin.ts";

/** How many times a publish pushes before it gives up (each refused push retried with a fresh id). */
const PUSH_ATTEMPTS = 4;
const SCENARIOS_DIR = "fitness/scenarios";

/** Everything a publish or a recall runs with: the checkout, the person's org folder and git, and when it is. */
export type ShareAccess = { git: RepoGit; home: ShareHome; person: PersonGit; now?: () => Date };

/**
 * The person's share access for `git`, as a promotion context carries it so that a rollback recalls what they offered
 * (`cycle/rollback.ts`); undefined when they have no org folder (nothing of theirs to recall).
 */
export function personShareAccess(git: RepoGit, signal?: AbortSignal): ShareAccess | undefined {
  let dir: string | undefined;
  try {
    dir = userOrgDir();
  } catch {
    return undefined;
  }
  if (dir === undefined) return undefined;
  return { git, home: { dir }, person: { env: gitEnvironment(), timeoutMs: 60_000, ...(signal ? { signal } : {}) } };
}

/** The remote, the signing key and the identity a signed push needs, or a ShareSetupError saying which is missing. */
async function signingSetup(access: ShareAccess): Promise<{ remote: string; signingKey: string; who: string }> {
  const settings = readShareSettings(access.home);
  if (!settings.remote) throw new ShareSetupError("no share remote is set: name the team's with 'org share remote URL'");
  const signingKey = settings.signingKey ?? (await personGitConfig(access.person, access.git.repoDir, "user.signingkey"));
  if (!signingKey)
    throw new ShareSetupError(
      "no signing key: give yours with 'org share signing-key PATH' (or git config user.signingkey); " +
        "make one with: ssh-keygen -t ed25519 -f ~/.ssh/org_share",
    );
  const who = await personIdentity(access.person, access.git.repoDir);
  if (!who)
    throw new ShareSetupError(
      "git does not know who you are: git config --global user.name 'Your Name'; git config --global user.email you@example.com",
    );
  return { remote: settings.remote, signingKey, who };
}

/** A published offer: its id, ref and commit. */
export type Published = { id: string; ref: string; commit: string; attempts: number };

/**
 * Offers the promoted tool `tool` to the team: a commit of its files exactly as main has them and `offer.json` (their
 * hashes, the passing report of the gate that promoted it, who, when, `machine`), signed with the person's SSH key and
 * pushed under `refs/org/offers/<tool>/<id>`. A push the remote refuses is tried again under a fresh id.
 */
export async function publishOffer(access: ShareAccess, tool: string, options: { machine?: string } = {}): Promise<Published> {
  const { git, person } = access;
  const signal = person.signal;
  if (!TOOL_NAME_PATTERN.test(tool)) throw new ShareSetupError(`${JSON.stringify(tool.slice(0, 60))} is not a tool name`);
  const setup = await signingSetup(access);
  const main = await git.resolveCommit("refs/heads/main");
  const folder = main ? await toolFolderTree(git, main, tool, signal) : undefined;
  if (!main || !folder) throw new ShareSetupError(`main has no promoted tool ${tool}: see 'org tool list'`);
  // Offered again under this person's key, a teammate's tool would lose who built it, and their recall would not reach it.
  const origin = await toolOrigin(git, tool, signal);
  if (origin)
    throw new ShareSetupError(
      `${tool} came from ${origin.signer}'s offer ${origin.offer}: it is theirs to offer; only a tool this checkout built is offered`,
      { nextStep: `Teammates who trust ${origin.signer} take it from their offer with 'org share pull'.` },
    );
  const entries = await git.treeEntries(folder, { signal });
  const toolFiles = new Set<string>(GENERATED_TOOL_FILES);
  const stray = entries.find((entry) => entry.type !== "blob" || !toolFiles.has(entry.path));
  if (stray)
    throw new ShareSetupError(
      `tools/generated/${tool}/${stray.path} is not a generated tool's file: only a tool as the toolsmith writes it is offered`,
    );
  const blobs = await git.readBlobs(
    entries.map((entry) => entry.id),
    { signal },
  );
  const files = Object.fromEntries(entries.map((entry) => [entry.path, fileSha256(blobs.get(entry.id) ?? Buffer.alloc(0))]));
  const fitness = await fitnessRecord(git, tool, signal);
  const now = access.now ?? (() => new Date());
  for (let attempt = 1; ; attempt += 1) {
    const at = now();
    const id = newOfferId(at);
    const manifest: OfferManifest = {
      version: 1,
      id,
      tool,
      files,
      fitness,
      provenance: { who: setup.who, at: at.toISOString(), ...(options.machine ? { machine: options.machine.slice(0, 100) } : {}) },
    };
    const tree = await shareTree(git, { name: OFFER_FILE, text: `${JSON.stringify(manifest, null, 2)}\n` }, folder, signal);
    const commit = await signedCommit(git, person, tree, `offer: ${tool} ${id}\n`, setup.signingKey);
    const ref = shareRef("offers", tool, id);
    const pushed = await pushCommit(git, person, setup.remote, commit, ref);
    if (pushed.kind === "pushed") {
      const state = readShareState(access.home);
      state.published.push({ id, tool, commit, at: at.toISOString() });
      writeShareState(access.home, state);
      return { id, ref, commit, attempts: attempt };
    }
    if (pushed.kind === "failed" || attempt >= PUSH_ATTEMPTS)
      throw new ShareRemoteError(`pushing the offer to ${setup.remote} failed after ${attempt} attempt(s): ${pushed.detail}`);
    await Bun.sleep(50 * attempt);
  }
}

/** The passing report of the gate that promoted `tool` here, as an offer carries it; refused when there is none. */
async function fitnessRecord(git: RepoGit, tool: string, signal?: AbortSignal): Promise<OfferManifest["fitness"]> {
  const promotion = (await toolPromotions(git, new Set([tool]), signal)).get(tool);
  const judged = promotion ? (await commitParents(git, promotion.commit, signal))[1] : undefined;
  const report = judged ? latestReport(git.repoDir, judged)?.report : undefined;
  if (!promotion || !judged || report?.verdict !== "pass")
    throw new ShareSetupError(
      `${tool} has no passing report of this checkout's gate for the promotion that brought it: only a tool judged here is offered`,
    );
  const scenarios = await git.treeEntries(report.mainCommit, { paths: [`${SCENARIOS_DIR}/`], recursive: true, signal }).catch(() => []);
  const scenarioBlobs = await git.readBlobs(
    scenarios.map((entry) => entry.id),
    { signal },
  );
  const corpus = Object.fromEntries(
    scenarios.map((entry) => [entry.path.slice(SCENARIOS_DIR.length + 1), fileSha256(scenarioBlobs.get(entry.id) ?? Buffer.alloc(0))]),
  );
  return {
    verdict: "pass",
    stages: report.checks.map((check) => ({ stage: check.stage, name: check.name.slice(0, 200), ok: check.ok })),
    corpus,
    code: report.mainCommit,
    judged,
    summary: report.summary.slice(0, 4000),
  };
}

/**
 * After `tool` was rolled back here: when this person published it and a share remote is set, a signed recall of their
 * newest offer of it is pushed (`refs/org/recalls/<tool>/<offer id>`); its ref, or undefined when there was nothing to recall.
 */
export async function publishRecall(access: ShareAccess, tool: string, reason: string): Promise<string | undefined> {
  const offer = readShareState(access.home)
    .published.filter((entry) => entry.tool === tool)
    .at(-1);
  if (!offer || !readShareSettings(access.home).remote) return undefined;
  const setup = await signingSetup(access);
  const manifest: RecallManifest = {
    version: 1,
    tool,
    offer: offer.id,
    reason: reason.slice(0, 1000),
    at: (access.now ?? (() => new Date()))().toISOString(),
  };
  const tree = await shareTree(access.git, { name: RECALL_FILE, text: `${JSON.stringify(manifest, null, 2)}\n` }, undefined, access.person.signal);
  const commit = await signedCommit(access.git, access.person, tree, `recall: ${tool} ${offer.id}\n`, setup.signingKey);
  const ref = shareRef("recalls", tool, offer.id);
  const pushed = await pushCommit(access.git, access.person, setup.remote, commit, ref);
  // A recall already there says the same: the offer is recalled.
  if (pushed.kind === "failed") throw new ShareRemoteError(`pushing the recall of ${tool} to ${setup.remote} failed: ${pushed.detail}`);
  return ref;
}
