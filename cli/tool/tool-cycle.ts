import { environmentSettings, instanceSettings } from "../../config/environment.ts";
import { CHECKOUT_DIR } from "../../config/workspace-paths.ts";
import type { BuildProgress } from "../../cycle/build-and-promote.ts";
import type { CandidateCycleRequest, CycleStage, CycleStageName } from "../../cycle/promote-candidate.ts";
import { tmuxInstances } from "../../cycle/tmux-instances.ts";
import { fitnessLines } from "../../fitness/fitness-lines.ts";
import { defaultGateOptions, gateThresholds } from "../../fitness/gate-defaults.ts";
import { promoteLines } from "../../cycle/promote.ts";
import { RepoGit } from "../../git/repo-git.ts";
import { probeHealth } from "../../instances/health-probe.ts";
import type { InstanceRole } from "../../instances/side-by-side.ts";
import { shellWord } from "../../security/shell-word.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { judgeCommands, orgInvocation } from "../command/org-invocation.ts";
import { healthTimeoutMs, refChangeContext } from "../candidates/ref-change-context.ts";
import type { SandboxAccess } from "../../sandbox/run-sandboxed.ts";

const say = (text: string) => process.stderr.write(`${sanitizeForTerminal(text)}\n`);
/** What a stage's own code said, indented under the stage. */
const sayIndented = (text: string) => process.stderr.write(`  ${sanitizeForTerminal(text).replaceAll("\n", "\n  ")}\n`);

/** The command a person would type for a stage after the build, as `--json`'s `command` and the progress show it. */
export function stageCommand(stage: Exclude<CycleStageName, "build">, branch: string): string {
  const words = {
    current: ["instance", "start", "current"],
    candidate: ["instance", "start", "candidate", branch],
    fitness: ["fitness"],
    promote: ["promote", branch],
  }[stage];
  return `${orgInvocation()} ${words.map(shellWord).join(" ")}`;
}

/** A stage as `--json` lists it: `{stage, ok, command, exitCode, detail, durationMs, reportPath?}`. */
export function stageJson(stage: CycleStage, branch: string) {
  const { stage: name, ok, exitCode, detail, durationMs, reportPath } = stage;
  const command = name === "build" ? "" : stageCommand(name, branch);
  return { stage: name, ok, command, exitCode, detail, durationMs, ...(reportPath ? { reportPath } : {}) };
}

/**
 * The cycle on this checkout: its instances in tmux on the environment's ports, the gate with its defaults and the
 * thresholds of the checkout's org.config.json (its tools run in `access`, the command's), and promote restarting
 * current with ops/start-current.sh.
 */
export function checkoutCycle(signal: AbortSignal, access: SandboxAccess): Omit<CandidateCycleRequest, "branch" | "onProgress" | "signal"> {
  return {
    instances: tmuxInstances(CHECKOUT_DIR),
    gate: () => {
      const git = new RepoGit(CHECKOUT_DIR);
      // The thresholds come from current's checkout, never from the directory the gate runs in.
      return { settings: gateThresholds(git.repoDir), git, ...defaultGateOptions(git.repoDir, environmentSettings().apiToken), ...access };
    },
    promotion: {
      context: (log) => refChangeContext({}, healthTimeoutMs(undefined, "promote"), signal, log).context,
      restart: true,
      rejudgeHint: (branch) => judgeCommands(CHECKOUT_DIR, branch),
    },
  };
}

/** Says the cycle's progress on stderr: each stage's command, what it said (indented), then ✓ or ✗ and its answer. */
export function showCycleProgress(): (progress: BuildProgress) => void {
  return (progress) => {
    switch (progress.type) {
      case "stage-start":
        if (progress.stage !== "build") say(`… ${progress.stage}: ${stageCommand(progress.stage, progress.branch)}`);
        return;
      case "note":
        sayIndented(progress.line);
        return;
      case "judged":
        for (const line of fitnessLines(progress.outcome)) sayIndented(line);
        return;
      case "promoted":
        for (const line of promoteLines(progress.outcome)) sayIndented(line);
        return;
      case "stage-done":
        say(`${progress.result.ok ? "✓" : "✗"} ${progress.result.stage}: ${progress.result.detail}`);
        if (progress.more !== undefined) say(`  ${progress.more}`);
        return;
      case "candidate-left":
        say(`left behind: ${progress.problem}`);
        return;
      default:
        return;
    }
  };
}

/**
 * What still runs in tmux after `tool new --promote`, where, and the exact command that stops it, as one line: the
 * cycle starts current (and the candidate) and leaves current serving the promoted tool. Each role is asked on its
 * port; one that does not answer is not named. Undefined when none answers.
 */
export async function runningInstancesLine(roles: readonly InstanceRole[], what = ""): Promise<string | undefined> {
  const settings = instanceSettings();
  const port = (role: InstanceRole) => (role === "current" ? settings.currentPort : settings.candidatePort);
  const answering: InstanceRole[] = [];
  for (const role of roles) if ((await probeHealth(port(role), 1_000)).kind === "org") answering.push(role);
  if (answering.length === 0) return undefined;
  const session = settings.tmuxSession;
  // The stop command works pasted into a fresh terminal: a session other than the default is named on it.
  const prefix = session === "org" ? "" : `ORG_TMUX_SESSION=${shellWord(session)} `;
  const where = answering.map(
    (role) =>
      `${role === "current" ? "current" : "the candidate"}${role === "current" && what ? ` ${what}` : ""} at ` +
      `http://127.0.0.1:${port(role)} (tmux window ${session}:${role})`,
  );
  const stop =
    answering.length === 1
      ? `stop it with: ${prefix}${orgInvocation()} instance stop ${answering[0]}`
      : `stop both with: ${prefix}${orgInvocation()} instance stop`;
  return `still running: ${where.join(" and ")}; look with tmux attach -t ${shellWord(session)}; ${stop}`;
}
