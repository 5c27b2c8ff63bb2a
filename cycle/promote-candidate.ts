import { verdictLine } from "../fitness/fitness-lines.ts";
import { type PromoteOutcome, promote, promoteLines, promoteSucceeded } from "./promote.ts";
import { type FitnessOutcome, type FitnessRequest, runFitness } from "../fitness/run-fitness.ts";
import type { FitnessReport } from "../fitness/fitness-report.ts";
import type { RefChangeContext } from "./ref-change.ts";
import type { InstanceRole } from "../instances/side-by-side.ts";
import { isRefusal } from "../security/refusal.ts";

/** The stages after the build, in order. */
export const CYCLE_STAGES = ["current", "candidate", "fitness", "promote"] as const;
export type CycleStageName = "build" | (typeof CYCLE_STAGES)[number];

/** How one stage went: the exit status its command would have, and the line that says what happened. */
export type CycleStage = { stage: CycleStageName; ok: boolean; exitCode: number; detail: string; durationMs: number; reportPath?: string };

/** An instance the gate can reach; `said` is the line that says how it was started ("candidate: started; …"). */
export type CycleInstance = { role: InstanceRole; port: number; url: string; said: string };

/** How the cycle starts and stops the two instances: tmux windows for `tool new --promote`, in-process servers for the demo. */
export type CycleInstances = {
  /** Starts current (on main) or the candidate (`branch`), or finds it running; throws a user-facing error that says why not. */
  start(role: InstanceRole, branch: string, note: (line: string) => void, signal: AbortSignal): Promise<CycleInstance>;
  /**
   * After the cycle, what it made of the candidate: promoted or judged (`done`) or interrupted (Ctrl-C), its instance is
   * stopped and the worktree the cycle made for it removed; when a stage failed (`failed`), a candidate that runs is
   * left to inspect, and one that does not (its start failed) goes with its worktree. What kept something from going.
   */
  finish?(how: CycleEnd): Promise<string | undefined>;
};

/** How a cycle ended, for what it made: judged or promoted, a stage failed, or it was interrupted. */
export type CycleEnd = "done" | "failed" | "interrupted";

/** What the cycle says while it runs, for a person to watch; the outcome holds the same facts as values. */
export type CycleProgress =
  | { type: "stage-start"; stage: CycleStageName; branch: string }
  /** A line a stage's own code said on the way (a worktree made, current restarted). */
  | { type: "note"; stage: CycleStageName; line: string }
  | { type: "instance-started"; instance: CycleInstance }
  | { type: "judged"; outcome: FitnessOutcome }
  | { type: "promoted"; outcome: PromoteOutcome }
  /** `more`: a second line of the stage's answer (how the baseline moved). */
  | { type: "stage-done"; result: CycleStage; more?: string }
  /** What the cycle made of the candidate (its instance, its worktree) and could not take away again. */
  | { type: "candidate-left"; problem: string };

/** What the gate runs with, apart from the instances' ports; a user-facing error from it means the gate could not judge. */
export type GateOptions = Omit<FitnessRequest, "candidatePort" | "currentPort" | "signal">;

export type CandidateCycleRequest = {
  branch: string;
  instances: CycleInstances;
  gate: () => GateOptions;
  /** How a pass is promoted; absent, the cycle ends at the gate's verdict and a pass waits for `org promote`. */
  promotion?: {
    /** The repository, journal and current (to restart) of the promotion; `log` is where its lines go. */
    context: (log: (line: string) => void) => Omit<RefChangeContext, "signal">;
    restart: boolean;
    /** The commands that judge `branch` again, added to a refusal for which that is the way on. */
    rejudgeHint?: (branch: string) => string;
  };
  onProgress?: (progress: CycleProgress) => void;
  signal: AbortSignal;
};

export type CycleOutcome = {
  ok: boolean;
  branch: string;
  stages: CycleStage[];
  /** The stage that failed; the candidate is left as it was then, to inspect. */
  stoppedAt?: CycleStageName;
  /** Why it stopped: that stage's detail. */
  failure?: string;
  verdict?: FitnessReport["verdict"];
  reportPath?: string;
  promotion?: PromoteOutcome;
};

/**
 * After a candidate branch is made: current started (or left as it is), the candidate started beside it, the
 * fitness gate run on it, and a pass promoted (when `promotion` says how); then the candidate instance stopped and its
 * worktree removed. Stops at the first stage that fails, leaving a candidate that runs for inspection; interrupted
 * (the signal, or a bug thrown), what it made of the candidate goes too. Each stage is a call returning values;
 * `onProgress` hears them as they come. An error that is not a refusal (a bug) is thrown.
 */
export async function promoteCandidate(request: CandidateCycleRequest): Promise<CycleOutcome> {
  const cycle = new CandidateCycle(request);
  let end: CycleEnd = "interrupted";
  try {
    const ok =
      (await cycle.stage("current", () => cycle.start("current"))) &&
      (await cycle.stage("candidate", () => cycle.start("candidate"))) &&
      (await cycle.stage("fitness", () => cycle.judge())) &&
      (request.promotion === undefined || (await cycle.stage("promote", () => cycle.promote(request.promotion))));
    cycle.outcome.ok = ok;
    end = request.signal.aborted ? "interrupted" : ok ? "done" : "failed";
    return cycle.outcome;
  } finally {
    // Promoted (or judged, to wait for `org promote`), or interrupted: the candidate has nothing left to show.
    const problem = await request.instances.finish?.(end).catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
    if (problem !== undefined) cycle.tell({ type: "candidate-left", problem });
  }
}

type StageDone = Omit<CycleStage, "stage" | "durationMs"> & { more?: string };

/** One run of the cycle: the outcome so far, the instances it started, and each stage's work. */
class CandidateCycle {
  readonly outcome: CycleOutcome;
  readonly #running: Partial<Record<InstanceRole, CycleInstance>> = {};

  constructor(readonly request: CandidateCycleRequest) {
    this.outcome = { ok: false, branch: request.branch, stages: [] };
  }

  tell(progress: CycleProgress): void {
    this.request.onProgress?.(progress);
  }

  /** Runs one stage: `work` answers with its result, or throws a refusal, which becomes the stage's failure. */
  async stage(name: CycleStageName, work: () => Promise<StageDone>): Promise<boolean> {
    this.tell({ type: "stage-start", stage: name, branch: this.request.branch });
    const started = performance.now();
    let done: StageDone;
    try {
      done = await work();
    } catch (error) {
      if (!isRefusal(error)) throw error;
      done = { ok: false, exitCode: 1, detail: error.message };
    }
    const { more, ...rest } = done;
    // A start says "candidate: started; …": the stage's name is said once, in front.
    const result: CycleStage = {
      stage: name,
      ...rest,
      detail: rest.detail.replace(/^(current|candidate): /, ""),
      durationMs: Math.round(performance.now() - started),
    };
    this.outcome.stages.push(result);
    this.tell({ type: "stage-done", result, ...(more !== undefined ? { more } : {}) });
    if (!result.ok) {
      this.outcome.stoppedAt = name;
      this.outcome.failure = result.detail;
    }
    return result.ok;
  }

  /** Starts current (on main) or the candidate, or finds it running. */
  async start(role: InstanceRole): Promise<StageDone> {
    const { branch, instances, signal } = this.request;
    const instance = await instances.start(role, branch, (line) => this.tell({ type: "note", stage: role, line }), signal);
    this.#running[role] = instance;
    this.tell({ type: "instance-started", instance });
    return { ok: true, exitCode: 0, detail: instance.said };
  }

  /** The fitness gate on the two instances; options the gate cannot run with are a verdict line, exit 2. */
  async judge(): Promise<StageDone> {
    const { current, candidate } = this.#running;
    if (!current || !candidate) throw new Error("the gate ran before both instances were started");
    let options: GateOptions;
    try {
      options = this.request.gate();
    } catch (error) {
      if (!isRefusal(error)) throw error;
      return { ok: false, exitCode: 2, detail: verdictLine({ why: error.message }) };
    }
    const onProgress = (line: string) => this.tell({ type: "note", stage: "fitness", line });
    const judged = await runFitness({
      ...options,
      candidatePort: candidate.port,
      currentPort: current.port,
      onProgress,
      signal: this.request.signal,
    });
    this.tell({ type: "judged", outcome: judged });
    if (judged.report) this.outcome.verdict = judged.report.verdict;
    if (judged.path) this.outcome.reportPath = judged.path;
    return { ok: judged.exitCode === 0, exitCode: judged.exitCode, detail: verdictLine(judged), ...(judged.path ? { reportPath: judged.path } : {}) };
  }

  /** A pass promoted as `promotion` says. */
  async promote(promotion: CandidateCycleRequest["promotion"]): Promise<StageDone> {
    if (!promotion) throw new Error("the promote stage ran without a promotion");
    const log = (line: string) => this.tell({ type: "note", stage: "promote", line });
    const context = { ...promotion.context(log), signal: this.request.signal };
    const promoted = await promote(context, {
      branch: this.request.branch,
      restart: promotion.restart,
      ...(promotion.rejudgeHint ? { rejudgeHint: promotion.rejudgeHint } : {}),
    });
    this.outcome.promotion = promoted;
    this.tell({ type: "promoted", outcome: promoted });
    const [detail = promoted.kind, more] = promoteLines(promoted);
    const ok = promoteSucceeded(promoted);
    return { ok, exitCode: ok ? 0 : 1, detail, ...(more !== undefined ? { more } : {}) };
  }
}
