import { runToolsmith, type ToolsmithEvent, type ToolsmithOutcome, type ToolsmithRequest } from "../toolsmith/run-toolsmith.ts";
import { type CandidateCycleRequest, type CycleOutcome, type CycleProgress, promoteCandidate } from "./promote-candidate.ts";

export type BuildProgress = CycleProgress | { type: "toolsmith"; event: ToolsmithEvent };

/**
 * The whole cycle for one goal: the toolsmith builds the tool and makes its candidate branch, then
 * `promoteCandidate` starts it beside current, judges it and promotes a pass. `cycle` is undefined when the build
 * made no branch. What `tool new --promote` runs, and `org grow` after it.
 */
export async function buildAndPromote(
  request: {
    toolsmith: Omit<ToolsmithRequest, "signal" | "onEvent">;
    onProgress?: (progress: BuildProgress) => void;
    signal: AbortSignal;
  } & Omit<CandidateCycleRequest, "branch" | "onProgress" | "signal">,
): Promise<{ built: ToolsmithOutcome; cycle?: CycleOutcome }> {
  const { toolsmith, onProgress, signal, ...cycle } = request;
  const built = await runToolsmith({ ...toolsmith, signal, onEvent: (event) => onProgress?.({ type: "toolsmith", event }) });
  if (!built.ok) return { built };
  return { built, cycle: await promoteCandidate({ ...cycle, branch: built.branch, signal, ...(onProgress ? { onProgress } : {}) }) };
}
