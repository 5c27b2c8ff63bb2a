import type { ReplyOutcome } from "../personas/reply-host.ts";
import type { ToolsmithJob } from "../personas/toolsmith-persona.ts";
import type { ToolsmithEvent, ToolsmithRecords, ToolsmithRequest } from "./run-toolsmith.ts";
import { tryItCommand } from "./try-it-command.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import type { ToolsmithSettingsInput } from "../config/toolsmith-settings.ts";

/** One room progress step for a pipeline event: `[step, status, detail]`. */
export function progressOf(event: ToolsmithEvent): [string, "started" | "running" | "done" | "failed", string | undefined] {
  switch (event.type) {
    case "phase-start":
      return [event.phase, "started", event.round > 1 ? `round ${event.round}` : undefined];
    case "phase-done":
      return [event.phase, "done", event.detail];
    case "validation-stage":
      return ["validation", "running", `${event.index}/${event.total} ${event.stage}`];
    case "validation-failed":
      return ["validation", "failed", `${event.stage}: ${event.message}`];
    case "validation-passed":
      return ["validation", "done", `${(event.durationMs / 1000).toFixed(1)} s`];
    case "branch-created":
      return ["branch", "done", event.branch];
  }
}

/**
 * The room's toolsmith job: runs the pipeline on the persona's own server and model, reports each step as
 * progress, holds the server's request slot only during model calls, and ends with the branch and how to try
 * it, or with what failed. The pipeline (and TypeScript's compiler) is loaded when the first job runs.
 */
export function toolsmithJob(
  options: SandboxAccess & {
    repoDir: string;
    /**
     * The gate's records the toolsmith reads and writes (`toolsmithRecords` of fitness/toolsmith-records.ts), or how to
     * load them when the first job runs (a room that never builds a tool need not load the gate's code).
     */
    records: ToolsmithRecords | (() => Promise<ToolsmithRecords>);
    settings?: ToolsmithSettingsInput;
    now?: () => Date;
    /** The model each phase asks instead of the persona's, when the config routes it (`toolsmithPhaseRoutes`). */
    routePhase?: ToolsmithRequest["routePhase"];
    /** `--repo` for the try-it command, when the repository is not the org checkout `org tool` defaults to. */
    hintRepo?: string;
    /** How the try-it command starts org (a shell word: `org`, or the launcher's path); default `org`. */
    invocation?: string;
  },
): ToolsmithJob {
  return async ({ goal, host, progress }): Promise<ReplyOutcome> => {
    const { runToolsmith } = await import("./run-toolsmith.ts");
    const outcome = await runToolsmith({
      goal,
      records: typeof options.records === "function" ? await options.records() : options.records,
      model: host.model,
      ...(options.routePhase ? { routePhase: options.routePhase } : {}),
      repoDir: options.repoDir,
      ...(options.settings ? { settings: options.settings } : {}),
      ...(options.now ? { now: options.now } : {}),
      sandbox: options.sandbox,
      sandboxPolicy: options.sandboxPolicy,
      signal: host.signal,
      onEvent: (event) => progress(...progressOf(event)),
    });
    const tryIt = outcome.ok
      ? tryItCommand({
          invocation: options.invocation ?? "org",
          name: outcome.name,
          branch: outcome.branch,
          input: outcome.tryInput,
          ...(options.hintRepo ? { repo: options.hintRepo } : {}),
        })
      : "";
    const text = outcome.ok
      ? `${outcome.name} is ready on branch ${outcome.branch}; it is offered to the room once the fitness gate promotes it. Try it: ${tryIt}`
      : `I could not build that tool: ${outcome.failure}`;
    host.report({ type: "text-delta", text });
    return { text, addressed: [] };
  };
}
