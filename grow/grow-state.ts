import { lstatSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { errorCode } from "../concurrency/error-code.ts";
import { canonicalJson } from "../config/canonical-json.ts";
import { sealValue, valueSealHolds } from "../config/trust-store.ts";
import { userOrgDir } from "../config/user-org-dir.ts";
import { GROW_DIR } from "../config/workspace-paths.ts";
import { ensurePrivateDir, readPrivateFile, writePrivateFile } from "../security/private-state.ts";
import { publishWorkspaceEvent } from "../workspace-events/event-journal.ts";
import { countSessionsOfOlderProposal } from "./merge-needs.ts";
import { Proposal } from "./proposal.ts";
import { OrgError } from "../errors/org-error.ts";

const Mark = z.strictObject({ offset: z.int().min(0), ino: z.number().min(0) });
/** Jobs of the cursor's newest millisecond it keeps by id. */
export const MAX_JOB_IDS = 10_000;

/**
 * How far noticing has read: each transcript (and the turn it was in, with that turn's message, for a reply read
 * in a later run), each day of the audit log, and serve's finished jobs up to a time.
 */
export const GrowCursor = z.strictObject({
  sessions: z.record(
    z.string(),
    Mark.extend({
      turn: z.string().max(128).optional(),
      turnText: z.string().max(4000).optional(),
      replies: z.record(z.string(), z.string()).optional(),
    }),
  ),
  audit: z.record(z.string(), Mark),
  jobs: z.strictObject({ through: z.number().min(0), ids: z.array(z.string()).max(MAX_JOB_IDS) }),
});
export type GrowCursor = z.infer<typeof GrowCursor>;

/**
 * The model's `same_need` answers, by a hash of what each rested on (the model and the two texts): a decision once made
 * holds until one of them changes, so a need covered in a dry run is covered in the run that follows.
 */
export const SameNeedAnswers = z.record(z.string().regex(/^[0-9a-f]{16}$/), z.strictObject({ same: z.boolean(), at: z.iso.datetime() }));
export type SameNeedAnswers = z.infer<typeof SameNeedAnswers>;

/**
 * `.org/grow/proposals.json`: the proposals, the cursor they were noticed up to and the model's remembered answers,
 * written together in one atomic, fsynced write, so a run killed anywhere neither loses a need nor counts one twice.
 */
export const GrowState = z.strictObject({
  version: z.literal(1),
  cursor: GrowCursor,
  proposals: z.array(Proposal),
  sameNeed: SameNeedAnswers.optional(),
});
export type GrowState = z.infer<typeof GrowState>;

export const EMPTY_CURSOR: GrowCursor = { sessions: {}, audit: {}, jobs: { through: 0, ids: [] } };

/** The proposals file is not grow's, or is damaged: the message says what to do. */
export class GrowStateError extends OrgError {
  override name = "GrowStateError";
}

/** `<workspace>/.org/grow`, made private (0700, no links) when missing. */
export function growDir(workspaceDir: string): string {
  return ensurePrivateDir(join(workspaceDir, GROW_DIR));
}

/** `.org/grow/proposals.json` of a workspace. */
function proposalsPath(workspaceDir: string): string {
  return join(workspaceDir, GROW_DIR, "proposals.json");
}

/**
 * The workspace's proposals and cursor; empty when grow never ran there. A file whose seal does not hold under the
 * user's key (`home`) is read as hearsay: no proposal of it stands for a person's word.
 */
export function readGrowState(workspaceDir: string, home: string | undefined = userOrgDir()): GrowState {
  // Looked for first: reading a private file makes its folders, and a dry run or `status` makes nothing.
  if (!lstatSync(proposalsPath(workspaceDir), { throwIfNoEntry: false })) return { version: 1, cursor: structuredClone(EMPTY_CURSOR), proposals: [] };
  let text: string;
  try {
    text = readPrivateFile(proposalsPath(workspaceDir));
  } catch (error) {
    if (errorCode(error) === "ENOENT") return { version: 1, cursor: structuredClone(EMPTY_CURSOR), proposals: [] };
    throw error;
  }
  let state: GrowState;
  let sealed = false;
  try {
    const { seal, ...rest } = z.looseObject({ seal: z.string().optional() }).parse(JSON.parse(text));
    state = GrowState.parse(rest);
    sealed = seal !== undefined && valueSealHolds(home, SEAL_LABEL, canonicalJson(state), seal);
  } catch (error) {
    const why = error instanceof z.ZodError ? (error.issues[0]?.message ?? "does not fit") : error instanceof Error ? error.message : String(error);
    throw new GrowStateError(
      `${proposalsPath(workspaceDir)} is damaged (${why.split("\n")[0]}); move it aside to start afresh ` +
        `(every transcript is read again), or restore it from a copy`,
    );
  }
  if (!sealed) state.proposals = state.proposals.flatMap(hearsay);
  for (const proposal of state.proposals) countSessionsOfOlderProposal(proposal);
  return state;
}

const SEAL_LABEL = "grow state";

/**
 * A proposal of a file the user's org did not seal (committed to a clone, unpacked from an archive, changed since):
 * nothing it says a person or a session asked is believed. A proposal to build keeps its goal, unconfirmed, with no
 * evidence, sessions or acceptance; a rebuild or removal (org's own judgement of a tool, which the next run makes
 * again) is dropped. What adds protection (rejected) and what names org's own work (built, promoted) stays.
 */
function hearsay(proposal: Proposal): Proposal[] {
  if (proposal.kind !== "build") return proposal.state === "pending" ? [] : [proposal];
  const { accepted: _accepted, ...rest } = proposal;
  const state = proposal.state === "pending" ? "unconfirmed" : proposal.state;
  return [{ ...rest, evidence: [], seenIn: [], sessions: 0, sources: {}, state }];
}

/** Replaces the workspace's proposals and cursor in one atomic, durable write, sealed with the user's key when there is one. */
export function writeGrowState(workspaceDir: string, state: GrowState, home: string | undefined = userOrgDir()): void {
  growDir(workspaceDir);
  const checked = GrowState.parse(state);
  let seal: string | undefined;
  try {
    seal = sealValue(home, SEAL_LABEL, canonicalJson(checked));
  } catch {
    seal = undefined;
  }
  const text = `${JSON.stringify({ ...checked, ...(seal !== undefined ? { seal } : {}) }, null, 2)}\n`;
  writePrivateFile(proposalsPath(workspaceDir), text, { durable: true });
  publishWorkspaceEvent(workspaceDir, { type: "proposals-changed" });
}
