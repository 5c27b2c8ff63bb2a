import { GENERATED_TOOLS_DIR } from "../config/workspace-paths.ts";
import { RepoGit } from "../git/repo-git.ts";
import type { AnyTool } from "../tools/define-tool.ts";
import { type GeneratedRoomTool, promotedRoomTools } from "../assembly/room-tools.ts";
import { type EventFollower, followWorkspaceEvents } from "../workspace-events/follow-workspace-events.ts";
import { changesPromotedTools } from "../workspace-events/workspace-event.ts";

/** Where a served tool comes from. */
export type ToolOrigin = "built-in" | "generated";

/** The checkout the server runs from, as git sees it. */
export type CheckoutState = { commit: string | null; branch: string | null };

/** What a reload did: the tools it added and removed, or why only a restart can take the new commit. */
export type ReloadResult = {
  reloaded: boolean;
  previousCommit: string | null;
  commit: string | null;
  added: string[];
  removed: string[];
  /** Set when files outside tools/generated/ changed: the running code is not that commit's; restart to take it. */
  restartNeeded?: string;
};

const GENERATED_PREFIX = `${GENERATED_TOOLS_DIR}/`;

/**
 * The tools a server offers: the built-ins and the checkout's promoted generated tools, and the commit they
 * are from. `reload()` re-reads tools/generated/ when HEAD moved by tool changes only; a change to anything
 * else needs a new process, and says so.
 */
export class ServedTools {
  #state: CheckoutState;
  #generated: GeneratedRoomTool[] = [];
  #problems: { name: string; problem: string }[] = [];
  #restartNeeded: string | undefined;
  #reloading: Promise<ReloadResult> | undefined;
  #follower: EventFollower | undefined;
  #generation = 0;
  #signature = "";
  readonly #listeners = new Set<(result: ReloadResult) => void>();

  private constructor(
    readonly checkoutDir: string,
    readonly builtIns: readonly AnyTool[],
    readonly git: RepoGit | undefined,
    state: CheckoutState,
    readonly workspaceDir: string,
  ) {
    this.#state = state;
  }

  /**
   * Reads the checkout's commit and branch, and the generated tools of the workspace (first) and the checkout,
   * as chat reads them. A folder that is not a git checkout has no commit.
   */
  static async open(checkoutDir: string, builtIns: readonly AnyTool[], workspaceDir = checkoutDir): Promise<ServedTools> {
    let git: RepoGit | undefined;
    try {
      git = new RepoGit(checkoutDir);
      if (!(await git.isRepository())) git = undefined;
    } catch {
      git = undefined;
    }
    const served = new ServedTools(checkoutDir, builtIns, git, await checkoutState(git), workspaceDir);
    served.#load();
    return served;
  }

  get commit(): string | null {
    return this.#state.commit;
  }

  get branch(): string | null {
    return this.#state.branch;
  }

  /** Why this process cannot take the checkout's current commit without a restart; undefined when it can. */
  get restartNeeded(): string | undefined {
    return this.#restartNeeded;
  }

  /** Generated tool folders that are not offered, with the reason. */
  get problems(): readonly { name: string; problem: string }[] {
    return this.#problems;
  }

  /** Every tool offered now, built-ins first; a lookup map by own name. */
  all(): { tool: AnyTool; origin: ToolOrigin }[] {
    return [
      ...this.builtIns.map((tool) => ({ tool, origin: "built-in" as const })),
      ...this.#generated.map(({ tool }) => ({ tool, origin: "generated" as const })),
    ];
  }

  /** The generated tools offered now. */
  generated(): readonly AnyTool[] {
    return this.#generated.map(({ tool }) => tool);
  }

  /** The generated tools offered now, each with the workspace or checkout it is read from. */
  generatedEntries(): readonly GeneratedRoomTool[] {
    return this.#generated;
  }

  /** Goes up by one each time the tool set is (re)loaded; a room opened at an older generation is reopened. */
  get generation(): number {
    return this.#generation;
  }

  #load(): void {
    const { generated, problems } = promotedRoomTools(
      [this.workspaceDir, this.checkoutDir],
      this.builtIns.map((tool) => tool.name),
    );
    // Rooms are reopened only when what they could be offered changed.
    const signature = `${this.#state.commit} ${generated.map(({ tool }) => tool.name).join(",")}`;
    if (signature !== this.#signature) this.#generation += 1;
    this.#signature = signature;
    this.#generated = generated;
    this.#problems = problems;
  }

  /** Takes the checkout's HEAD if only tools/generated/ changed since the loaded commit; one reload at a time. */
  reload(): Promise<ReloadResult> {
    this.#reloading ??= this.#reload()
      .then((result) => {
        for (const listener of this.#listeners) listener(result);
        return result;
      })
      .finally(() => {
        this.#reloading = undefined;
      });
    return this.#reloading;
  }

  /** Tells `listener` what each reload did, whoever asked for it (the HEAD watch, the admin route, an action); returns how to stop. */
  onReload(listener: (result: ReloadResult) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #reload(): Promise<ReloadResult> {
    const before = new Set(this.#generated.map(({ tool }) => tool.name));
    const previousCommit = this.#state.commit;
    const next = await checkoutState(this.git);
    // Only a checkout has commits to compare.
    const outside =
      this.git && previousCommit && next.commit && previousCommit !== next.commit
        ? await changedOutsideTools(this.git, previousCommit, next.commit)
        : [];
    if (outside.length > 0) {
      const shown = outside.slice(0, 5).join(", ") + (outside.length > 5 ? ` and ${outside.length - 5} more` : "");
      this.#restartNeeded =
        `${next.commit?.slice(0, 12)} changes files outside tools/generated/ (${shown}); ` +
        `this process runs ${previousCommit?.slice(0, 12)}'s code, so only a restart takes it (ops/start-current.sh restarts it).`;
      return { reloaded: false, previousCommit, commit: previousCommit, added: [], removed: [], restartNeeded: this.#restartNeeded };
    }
    this.#restartNeeded = undefined;
    this.#state = next;
    this.#load();
    const after = new Set(this.#generated.map(({ tool }) => tool.name));
    return {
      reloaded: true,
      previousCommit,
      commit: next.commit,
      added: [...after].filter((name) => !before.has(name)),
      removed: [...before].filter((name) => !after.has(name)),
    };
  }

  /**
   * Reloads when the checkout's event stream tells of a promotion or rollback (or says its reader must re-read
   * state); `onReload` hears each. No state is read on a clock: the follower is told by a watch on the journal (it
   * looks on a clock only where no watch can be set up or trusted).
   */
  follow(onReload: (result: ReloadResult) => void): void {
    if (!this.git || this.#follower) return;
    const reload = () => void this.reload().then(onReload, () => {});
    this.#follower = followWorkspaceEvents(this.checkoutDir, {
      onEvents: (records) => changesPromotedTools(records) && reload(),
      onResync: reload,
    });
  }

  stop(): void {
    this.#follower?.stop();
    this.#follower = undefined;
  }
}

async function headCommit(git: RepoGit | undefined): Promise<string | null> {
  if (!git) return null;
  return (await git.resolveCommit("HEAD")) ?? null;
}

/** The checkout's commit, and its branch: the one checked out, else a branch at that commit (a detached worktree). */
async function checkoutState(git: RepoGit | undefined): Promise<CheckoutState> {
  const commit = await headCommit(git);
  if (!git || !commit) return { commit, branch: null };
  const checkedOut = await git.headBranch();
  if (checkedOut) return { commit, branch: checkedOut };
  const [branch] = await git.branchesAt(commit).catch(() => []);
  return { commit, branch: branch ?? null };
}

/** The files a move of HEAD changed outside tools/generated/: code this process runs only after a restart. */
async function changedOutsideTools(git: RepoGit, from: string, to: string): Promise<string[]> {
  return (await git.changes(from, to)).map((change) => change.path).filter((path) => !path.startsWith(GENERATED_PREFIX));
}
