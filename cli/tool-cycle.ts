// `tool new --promote`: the rest of the cycle after a candidate branch is made, through the very commands a
// person would type next (instance start current, instance start candidate, fitness, promote), stage by stage,
// stopping at the first that fails and leaving the candidate running to look at.
import { sanitizeForTerminal } from "../security/terminal-sanitizer.ts";
import { shellWord } from "../security/shell-word.ts";
import { type Command, isUserFacing, UsageError } from "./command.ts";
import { fitnessCommand } from "./fitness-command.ts";
import { instanceCommand } from "./instance-command.ts";
import { orgInvocation } from "./org-invocation.ts";
import { promoteCommand } from "./promote-command.ts";
import { isSystemRefusal } from "./report-failure.ts";

/** The stages after the build, in order. */
export const CYCLE_STAGES = ["current", "candidate", "fitness", "promote"] as const;
export type CycleStageName = "build" | (typeof CYCLE_STAGES)[number];

/** How one stage went: the command it ran, its exit code and the line that says what happened. */
export type CycleStage = { stage: CycleStageName; ok: boolean; command: string; exitCode: number; detail: string; durationMs: number; reportPath?: string };

const say = (text: string) => process.stderr.write(`${sanitizeForTerminal(text)}\n`);

/**
 * Runs one org command as its own CLI would, with what it prints to stdout shown on stderr (progress, indented)
 * and kept. An error it raises for the user (a refusal, a port taken, tmux missing) is a failure with that
 * message (exit 1, or 2 for a usage error); any other error is a bug and is thrown.
 */
async function runCaptured(command: Command, args: string[], signal: AbortSignal): Promise<{ exitCode: number; lines: string[] }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => {
    const text = parts.map((part) => (typeof part === "string" ? part : Bun.inspect(part))).join(" ");
    lines.push(...text.split("\n"));
    process.stderr.write(`  ${sanitizeForTerminal(text).replaceAll("\n", "\n  ")}\n`);
  };
  try {
    return { exitCode: await command.run(args, signal), lines };
  } catch (error) {
    if (!(error instanceof UsageError) && !isUserFacing(error) && !isSystemRefusal(error)) throw error;
    lines.push(error.message);
    return { exitCode: error instanceof UsageError ? 2 : 1, lines };
  } finally {
    console.log = log;
  }
}

/**
 * What a stage's command printed, summed up: the gate's verdict line, promote's "promoted … as …" (with the
 * baseline line after it as `more`), else the last line; and the report's path when the gate wrote one.
 */
export function stageSummary(lines: readonly string[], exitCode: number): { detail: string; more?: string; reportPath?: string } {
  const said = lines.map((line) => line.trim()).filter((line) => line !== "" && !line.startsWith("attach:"));
  const verdict = said.find((line) => line.startsWith("verdict:"));
  const reportPath = said.find((line) => line.startsWith("report: "))?.slice("report: ".length);
  const promoted = said.find((line) => line.startsWith("promoted ") || line.startsWith("promotion "));
  const last = said.at(-1);
  // instance start says "candidate: started; …": the stage's name is said once, in front.
  const detail = (verdict ?? promoted ?? last ?? `exit status ${exitCode}`).replace(/^(current|candidate): /, "");
  return { detail, ...(promoted && last !== undefined && last !== promoted ? { more: last } : {}), ...(reportPath ? { reportPath } : {}) };
}

/** One stage: its command run and said, its detail the gate's verdict line, or the command's last line. */
async function runStage(stage: CycleStageName, command: Command, args: string[], signal: AbortSignal): Promise<CycleStage> {
  const shown = `${orgInvocation()} ${[command.name, ...args].map(shellWord).join(" ")}`;
  say(`… ${stage}: ${shown}`);
  const started = performance.now();
  const { exitCode, lines } = await runCaptured(command, args, signal);
  const { detail, more, reportPath } = stageSummary(lines, exitCode);
  const result: CycleStage = {
    stage,
    ok: exitCode === 0,
    command: shown,
    exitCode,
    detail,
    durationMs: Math.round(performance.now() - started),
    ...(reportPath ? { reportPath } : {}),
  };
  say(`${result.ok ? "✓" : "✗"} ${stage}: ${detail}`);
  if (more !== undefined) say(`  ${more}`);
  return result;
}

/**
 * After `tool new` made `branch`: current started (or left as it is), the candidate started beside it, the
 * gate run on it, and a pass promoted. Stops at the first failing stage; the candidate stays for inspection.
 */
export async function promoteCandidate(branch: string, signal: AbortSignal): Promise<{ ok: boolean; stages: CycleStage[]; stoppedAt?: CycleStageName }> {
  const steps: [CycleStageName, Command, string[]][] = [
    ["current", instanceCommand, ["start", "current"]],
    ["candidate", instanceCommand, ["start", "candidate", branch]],
    ["fitness", fitnessCommand, []],
    ["promote", promoteCommand, [branch]],
  ];
  const stages: CycleStage[] = [];
  for (const [stage, command, args] of steps) {
    const result = await runStage(stage, command, args, signal);
    stages.push(result);
    if (!result.ok) return { ok: false, stages, stoppedAt: stage };
  }
  // Promoted: the branch is on main and current serves it; the candidate instance has nothing left to show.
  const stopped = await runCaptured(instanceCommand, ["stop", "candidate"], signal);
  if (stopped.exitCode !== 0)
    say(`the candidate instance did not stop: ${stopped.lines.at(-1) ?? ""}; stop it with ${orgInvocation()} instance stop candidate`);
  return { ok: true, stages };
}
