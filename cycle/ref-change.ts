import { existsSync, rmSync } from "node:fs";
import { checkoutChanges, indexLockPath, moveCheckoutFiles, resetCheckoutFiles } from "../git/checkout-files.ts";
import { GitCommandError } from "../git/git-command-error.ts";
import { moveMainAndTag } from "../git/ref-transaction.ts";
import { utcSecondStamp } from "../git/ref-names.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { publishWorkspaceEvent } from "../workspace-events/event-journal.ts";
import type { WorkspaceEvent } from "../workspace-events/workspace-event.ts";
import type { ShareAccess } from "../share/publish-offer.ts";
import { followBaseline } from "./baseline-follow.ts";
import { type JournalEntry, PromotionBlockedError, type PromotionJournal } from "./promotion-journal.ts";
import { OrgError } from "../errors/org-error.ts";

/** The running `current` instance: restarted after main moves, then asked for its commit. */
export type CurrentInstance = {
  /** Restarts current on the checkout; safe to call twice (it never leaves two currents). */
  restart(signal?: AbortSignal): Promise<void>;
  /** Waits, bounded, until current's /health names `commit`; `detail` says what it answered instead. */
  waitHealthy(commit: string, signal?: AbortSignal): Promise<{ ok: boolean; detail: string }>;
};

export type RefChangeContext = {
  git: RepoGit;
  journal: PromotionJournal;
  /** Undefined: current is not restarted (`--no-restart`, or no current to restart). */
  current?: CurrentInstance;
  /** What was done, one line at a time, for the user. */
  log: (line: string) => void;
  now?: () => Date;
  signal?: AbortSignal;
  /** The person's share setup: a rollback recalls from the team each tool it takes away that they offered (`rollback.ts`). */
  share?: ShareAccess;
};

/** A promote or rollback refused before anything changed; the message says why and what to do. */
export class PromotionRefusedError extends OrgError {
  override name = "PromotionRefusedError";
  /** True when running the gate on the candidate again is the way on; the CLI adds the commands that do it. */
  readonly rejudge: boolean;
  constructor(message: string, options: { rejudge?: boolean } = {}) {
    super(message);
    this.rejudge = options.rejudge ?? false;
  }
}

/**
 * How a journaled change ended: main moved and checked out, current's health at the new commit, and how the baseline
 * followed main (undefined when this run did not move it: none to follow, or an earlier run did).
 */
export type RefChangeOutcome =
  | { kind: "applied"; health: { ok: boolean; detail: string } | undefined; baseline?: string }
  | { kind: "abandoned"; reason: string };

/** `<kind>/<UTC second>`, the first second from now whose tag does not exist yet. */
export async function freeTagName(git: RepoGit, kind: "promote" | "rollback", now: Date): Promise<string> {
  for (let offset = 0; offset < 600; offset += 1) {
    const tag = `${kind}/${utcSecondStamp(new Date(now.getTime() + offset * 1000))}`;
    if ((await git.resolveCommit(`refs/tags/${tag}`)) === undefined) return tag;
  }
  throw new PromotionRefusedError(`no free ${kind}/ tag name in the next 10 minutes`);
}

/**
 * Brings the checkout's index and files from `from` to `to` (main has already moved to `to`). A run killed
 * halfway is repaired: when the two-tree update refuses, the tracked files are reset to `to`. The checkout was
 * clean when the change started, and only promote and rollback change it (docs/ARCHITECTURE.md, invariant 7).
 */
async function syncCheckout(context: RefChangeContext, from: string, to: string): Promise<boolean> {
  const { git, signal } = context;
  if (context.journal.tookOverStaleLock) {
    // A git command killed with us may have left the index locked; nothing else may change this checkout.
    const indexLock = await indexLockPath(git, signal);
    if (existsSync(indexLock)) {
      rmSync(indexLock, { force: true });
      context.log(`removed a stale ${indexLock} left by the interrupted run`);
    }
  }
  const clean = async () => (await checkoutChanges(git, { untracked: false, signal })).length === 0;
  if (await clean()) return false;
  try {
    await moveCheckoutFiles(git, from, to, signal);
  } catch {
    await resetCheckoutFiles(git, to, signal);
  }
  if (!(await clean())) {
    throw new PromotionBlockedError(
      `main is at ${to.slice(0, 12)} but its checkout's files still differ; run 'git reset --keep main' in ${git.repoDir}`,
    );
  }
  return true;
}

/**
 * Carries a journaled change from its recorded step to the end: moves main and creates the tag in one
 * `update-ref --stdin` transaction with expected old values, makes the baseline follow main (`followBaseline`),
 * brings the checkout's files up to main, restarts
 * current and waits for its health. Every step is recorded before the next, and each one is safe to repeat,
 * so a run killed anywhere is finished by the next. A transaction that can no longer apply (main or the
 * candidate moved) is abandoned: nothing changed.
 */
export async function applyRefChange(context: RefChangeContext, start: JournalEntry): Promise<RefChangeOutcome> {
  const { git, journal, signal } = context;
  let entry = start;
  const short = (commit: string) => commit.slice(0, 12);
  const next = (step: JournalEntry["step"]) => {
    entry = { ...entry, step };
    journal.write(entry);
  };

  if (entry.step === "planned") {
    const main = await git.resolveCommit("refs/heads/main");
    const tagged = await git.resolveCommit(`refs/tags/${entry.tag}`);
    if (main === entry.newMain && tagged === entry.newMain) {
      context.log(`main was already at ${short(entry.newMain)} with tag ${entry.tag}`);
    } else if (main === entry.mainBefore && tagged === undefined) {
      try {
        await moveMainAndTag(git, entry, signal);
      } catch (error) {
        journal.clear();
        const reason =
          error instanceof GitCommandError
            ? `main or ${entry.verify?.ref ?? "a ref"} moved meanwhile; nothing changed (${error.message.split("\n")[0]})`
            : String(error);
        return { kind: "abandoned", reason };
      }
      context.log(`moved main ${short(entry.mainBefore)} → ${short(entry.newMain)} and tagged ${entry.tag} (one ref transaction)`);
    } else {
      journal.clear();
      return {
        kind: "abandoned",
        reason:
          `main is at ${main ? short(main) : "nothing"}, neither before (${short(entry.mainBefore)}) ` +
          `nor after (${short(entry.newMain)}) the ${entry.op}; nothing changed`,
      };
    }
    next("ref-moved");
  }

  // The baseline is a judgement about main: it follows main's move before anything else can judge the new main.
  let baseline: string | undefined;
  if (entry.step === "ref-moved") {
    baseline = await followBaseline(git, entry, signal);
    next("baseline-followed");
  }

  if (entry.step === "baseline-followed") {
    if (await syncCheckout(context, entry.mainBefore, entry.newMain))
      context.log(`brought the checkout's files up to main (${short(entry.newMain)})`);
    next("checkout-synced");
    // Told once the checkout's files are main's: a process that reloads its promoted tools on it reads the new ones.
    const told = publishWorkspaceEvent(git.repoDir, refChangeEvent(entry));
    if (!told.published)
      context.log(
        `main's change was not told to the chat, serve and mcp processes that follow this checkout (${told.reason}): ` +
          "restart them to load its tools",
      );
  }

  if (entry.step === "checkout-synced") {
    if (entry.restart && context.current) {
      await context.current.restart(signal);
      context.log("asked current to take the new commit (ops/start-current.sh: a reload, or a restart)");
    }
    next("restarted");
  }

  let health: { ok: boolean; detail: string } | undefined;
  if (entry.restart && context.current) {
    health = await context.current.waitHealthy(entry.newMain, signal);
    context.log(health.ok ? `current is healthy at ${short(entry.newMain)}` : `current is NOT healthy at ${short(entry.newMain)}: ${health.detail}`);
  }
  return { kind: "applied", health, ...(baseline ? { baseline } : {}) };
}

/** The workspace event of a ref change: the promotion (its candidate and tag) or the rollback (the tag it made). */
function refChangeEvent(entry: JournalEntry): WorkspaceEvent {
  if (entry.op === "rollback") return { type: "main-rolled-back", tag: entry.undoes ?? entry.tag, commit: entry.newMain };
  return { type: "main-promoted", branch: entry.verify?.ref.replace(/^refs\/heads\//, "") ?? entry.tag, tag: entry.tag, commit: entry.newMain };
}
