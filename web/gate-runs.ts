import { join } from "node:path";
import type { OrgConfig } from "../config/org-config.ts";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { inProcessInstances } from "../cycle/in-process-instances.ts";
import { inProcessGateOptions } from "../cycle/in-process-gate.ts";
import { type CycleProgress, promoteCandidate } from "../cycle/promote-candidate.ts";
import type { RepoGit } from "../git/repo-git.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import type { GateRun } from "./web-api.ts";
import { OrgError } from "../errors/org-error.ts";

/** Gate runs kept for the view (the newest). */
const KEPT = 20;

/**
 * The fitness gate run from the web room's Candidates view: the cycle `org grow` judges with (current and the candidate
 * as two `serve`s in this process, the real gate), without a promotion (a pass waits for Promote). One run per branch
 * at a time; each run's stages are kept for the view, and `changed` is called at each step. Made once per server.
 */
export class GateRuns {
  readonly #runs: GateRun[] = [];
  readonly #stopping = new AbortController();

  constructor(
    private readonly setup: SandboxAccess & {
      config: OrgConfig;
      git: RepoGit;
      workspaceDir: string;
      changed: () => void;
      logError: (line: string) => void;
    },
  ) {}

  /** The runs, newest first. */
  list(): GateRun[] {
    return [...this.#runs].reverse();
  }

  /** Starts the gate on `branch` (a refusal when it runs already); the run goes on after the request is answered. */
  start(branch: string): GateRun {
    if (this.#runs.some((run) => run.branch === branch && run.state === "running"))
      throw new GateBusyError(`the gate already runs on ${branch}; wait for its verdict.`);
    const run: GateRun = { branch, state: "running", stages: [], verdict: null, said: "starting current and the candidate" };
    this.#runs.push(run);
    this.#runs.splice(0, Math.max(0, this.#runs.length - KEPT));
    this.setup.changed();
    this.#judge(run).catch((error: unknown) => {
      Object.assign(run, { state: "failed", said: `the gate could not run: ${error instanceof Error ? error.message : String(error)}` });
      this.setup.logError(`web: the gate on ${branch} failed: ${error instanceof Error ? error.stack : String(error)}`);
      this.setup.changed();
    });
    return run;
  }

  async #judge(run: GateRun): Promise<void> {
    const { config, git, sandbox, sandboxPolicy, workspaceDir } = this.setup;
    const instances = inProcessInstances({
      config,
      toolRepo: git,
      instanceWorkspace: (role) => join(workspaceDir, ORG_DIR, `web-gate-${role}`),
      sandbox,
      sandboxPolicy,
    });
    const onProgress = (progress: CycleProgress) => {
      if (progress.type === "stage-start") run.said = `${progress.stage}…`;
      else if (progress.type === "stage-done") {
        const { stage, ok, detail, durationMs } = progress.result;
        run.stages.push({ stage, ok, detail, durationMs });
      } else return;
      this.setup.changed();
    };
    try {
      const outcome = await promoteCandidate({
        branch: run.branch,
        instances,
        gate: () => inProcessGateOptions({ config, git, sandbox, sandboxPolicy }),
        onProgress,
        signal: this.#stopping.signal,
      });
      Object.assign(run, {
        state: "done",
        verdict: outcome.verdict ?? null,
        said: outcome.ok ? "Promote merges it into main" : `stopped at ${outcome.stoppedAt ?? "?"}: ${outcome.failure ?? ""}`,
      });
    } finally {
      await instances.close();
      this.setup.changed();
    }
  }

  /** Stops every run (the server is stopping). */
  close(): void {
    this.#stopping.abort();
  }
}

/** The gate already runs on that branch. */
export class GateBusyError extends OrgError {
  override name = "GateBusyError";
}
