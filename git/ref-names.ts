// The names org gives its branches and tags. Imports nothing, so the CLI can check a --ref without loading git.

/** A full object id: SHA-1 (40 hex digits) or SHA-256 (64), as git prints it (lower case). */
export const OBJECT_ID_PATTERN = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** Whether `text` is a full object id (a commit, tree or blob named exactly, never a revision git would resolve). */
export function isObjectId(text: string): boolean {
  return OBJECT_ID_PATTERN.test(text);
}

/** Where the candidate branches live: `refs/heads/cand/…`. */
export const CANDIDATE_REFS_PREFIX = "refs/heads/cand/";

/** What a promotion or a rollback tags: `refs/tags/promote/…`, `refs/tags/rollback/…`. */
export type PromotionTagKind = "promote" | "rollback";

/** A UTC second as org stamps its branch and tag names: `20261123T101500Z`. */
const UTC_SECOND = String.raw`\d{8}T\d{6}Z`;

/** The only shape a candidate branch may have (`cand/20261123T101500Z`); checked before any git call that names one. */
export const CANDIDATE_BRANCH_PATTERN = new RegExp(`^cand/${UTC_SECOND}$`);

/** A candidate branch's full ref name: `refs/heads/cand/20261123T101500Z`. */
export const CANDIDATE_REF_PATTERN = new RegExp(`^refs/heads/cand/${UTC_SECOND}$`);

/** The tag a promotion leaves: `promote/20261123T101500Z`. */
export const PROMOTE_TAG_PATTERN = new RegExp(`^promote/${UTC_SECOND}$`);

/** The tags of promotions and rollbacks: `promote/…` and `rollback/…`. */
export const PROMOTION_TAG_PATTERN = new RegExp(`^(promote|rollback)/${UTC_SECOND}$`);

/** What a `--ref` of the tool, workflow and mcp commands takes: `main` or a candidate branch. */
export function isMainOrCandidate(ref: string): boolean {
  return ref === "main" || CANDIDATE_BRANCH_PATTERN.test(ref);
}

/** A moment to the second, as branch and tag names carry it: `20261123T101500Z`. */
export function utcSecondStamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
}

/** `cand/<UTC timestamp>` for a moment, to the second: `cand/20261123T101500Z`. */
export function candidateBranchName(date: Date): string {
  return `cand/${utcSecondStamp(date)}`;
}

/** The ref of main. */
export const MAIN_REF = "refs/heads/main";

/** The full ref of local branch `branch` (`cand/…` → `refs/heads/cand/…`). */
export function branchRef(branch: string): string {
  return `refs/heads/${branch}`;
}
