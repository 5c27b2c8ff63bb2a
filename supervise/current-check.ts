import { readFileSync, statSync } from "node:fs";
import { formatDuration } from "../config/duration.ts";
import { lastPromotionInPlace } from "../git/last-promotion.ts";
import { RepoGit } from "../git/repo-git.ts";
import { probeHealth } from "../instances/health-probe.ts";
import { TmuxWindow } from "../instances/tmux-window.ts";
import { CURRENT_ATTEMPTS, CURRENT_CONFIG_KEY, restartCurrent, rollbackPromotion } from "./current-fixes.ts";
import { type Check, type CheckResult, type Finding, scrub, type SuperviseContext } from "./supervise-check.ts";
/** When the check last found current healthy: restarts are numbered from there. */
const HEALTHY_AT_KEY = "current:healthy-at";

/** What to do about a current that is down, given the restarts already made in the window. */
export type RestartDecision =
  | { kind: "restart"; attempt: number; waitedMs: number }
  | { kind: "wait"; attempt: number; untilMs: number }
  | { kind: "rollback"; tag: string }
  | { kind: "give-up"; reason: string };

/**
 * The backoff and the escalation of pattern 1: the first restart at once, each further one in `window` after twice the
 * wait before it (`backoff`, 2×, 4×…); once `maxRestarts` restarts in the window did not keep it up, the last promotion
 * is rolled back when the failures began after it, else the supervisor stops trying and says so.
 */
export function restartDecision(input: {
  attempts: readonly number[];
  now: number;
  settings: { backoff: number; maxRestarts: number; window: number };
  promotion?: { tag: string; at: number };
  /** A rollback of that promotion that already failed: not tried twice. */
  rollbackFailed?: boolean;
}): RestartDecision {
  const { attempts, now, settings, promotion } = input;
  if (attempts.length >= settings.maxRestarts) {
    const began = attempts[0] ?? now;
    const restarts = `${attempts.length} restarts in ${formatDuration(settings.window)} (supervise.maxRestarts ${settings.maxRestarts})`;
    if (promotion && began >= promotion.at && !input.rollbackFailed) return { kind: "rollback", tag: promotion.tag };
    if (promotion && began >= promotion.at)
      return { kind: "give-up", reason: `${restarts} did not keep it up, and rolling back ${promotion.tag} failed; stopped trying` };
    const why = promotion ? `the failures began before the last promotion (${promotion.tag})` : "there is no promotion to roll back";
    // The restarts are counted in a sliding window: one more is allowed once the oldest that fills it has left it.
    const retryAt = (attempts[attempts.length - settings.maxRestarts] ?? now) + settings.window;
    return {
      kind: "give-up",
      reason:
        `${restarts} did not keep it up and ${why}; stopped trying until ` +
        `${new Date(retryAt).toISOString()}, when the oldest of those restarts leaves the ${formatDuration(settings.window)} window`,
    };
  }
  const previous = attempts.at(-1);
  const waitMs = previous === undefined ? 0 : settings.backoff * 2 ** (attempts.length - 1);
  const attempt = attempts.length + 1;
  if (previous === undefined || now >= previous + waitMs) return { kind: "restart", attempt, waitedMs: previous === undefined ? 0 : now - previous };
  return { kind: "wait", attempt, untilMs: previous + waitMs };
}

/** The `--config` and `--unsafe-no-sandbox` of the serve process `pid` (from /proc), to restart it the same way. */
function serveArguments(pid: number): string | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    const at = argv.indexOf("--config");
    const config = at >= 0 ? argv[at + 1] : undefined;
    return JSON.stringify({ ...(config ? { config } : {}), unsafeNoSandbox: argv.includes("--unsafe-no-sandbox") });
  } catch {
    return undefined;
  }
}

/** Milliseconds the process `pid` has run (its /proc folder is as old as it), or undefined. */
function ageOf(pid: number, now: number): number | undefined {
  const stat = statSync(`/proc/${pid}`, { throwIfNoEntry: false });
  return stat ? now - stat.ctimeMs : undefined;
}

/** Pattern 1: the current instance down (its tmux pane dead) or unhealthy (its /health), and what to do about it. */
async function runCurrentCheck(context: SuperviseContext): Promise<CheckResult> {
  const { instance, state, now } = context;
  if (!Bun.which("tmux")) return { state: "off", detail: "tmux is not installed, so no current instance runs in it to watch", findings: [] };
  const window = new TmuxWindow(instance.tmuxSession, "current");
  const pane = await window.state();
  const where = `tmux window ${instance.tmuxSession}:current`;
  if (pane.state === "absent")
    return { state: "off", detail: `no ${where}: current is not running (ops/start-current.sh starts it), so it is not watched`, findings: [] };
  let problem: string;
  if (pane.state === "running") {
    const probe = await probeHealth(instance.port, 2_000);
    if (probe.kind === "org" && probe.health.ok) {
      const args = serveArguments(pane.pid);
      if (args !== undefined) state.set(CURRENT_CONFIG_KEY, args);
      state.set(HEALTHY_AT_KEY, String(now()));
      return {
        state: "ok",
        detail:
          `healthy at http://127.0.0.1:${instance.port} (commit ` +
          `${probe.health.commit?.slice(0, 12) ?? "none"}, up ${Math.round(probe.health.uptimeS)} s) in ${where}`,
        findings: [],
      };
    }
    const age = ageOf(pane.pid, now());
    if (age !== undefined && age < instance.startTimeoutMs)
      return { state: "warn", detail: `starting in ${where} (${Math.round(age / 1000)} s); not judged yet`, findings: [], undecided: true };
    problem = probe.kind === "org" ? "its /health answers ok: false" : `its /health does not answer (${probe.detail})`;
  } else {
    // Redacted before the lines are joined and cut, which would leave a secret's pieces unrecognised.
    const lines = scrub(context, await window.lastLines(3))
      .replace(/\s+/g, " ")
      .trim()
      .slice(0, 300);
    problem = `its process exited${pane.status !== null ? ` with status ${pane.status}` : ""}${lines ? ` (last lines: ${lines})` : ""}`;
  }
  return { state: "fail", detail: `current is down: ${problem}`, findings: [await currentFinding(context, problem)] };
}

/** The restart about to be made, numbered from the last time the check found current healthy (0: never seen healthy). */
function restartsSinceHealthy(context: SuperviseContext): { number: number; healthyAt: number } {
  const healthyAt = Number(context.state.get(HEALTHY_AT_KEY) ?? 0);
  return { number: context.state.attemptsSince(CURRENT_ATTEMPTS.kind, CURRENT_ATTEMPTS.key, healthyAt).length + 1, healthyAt };
}

/**
 * A restart's fix record: its number since current was last healthy (which goes on while it crash-loops, as restarts
 * the window has forgotten are tried again), how long after the one before, and which it is of those the window allows.
 */
export function restartDetail(
  decision: Extract<RestartDecision, { kind: "restart" }>,
  since: { number: number; healthyAt: number },
  settings: { backoff: number; maxRestarts: number; window: number },
): string {
  const waited =
    decision.attempt === 1
      ? "at once"
      : `${formatDuration(decision.waitedMs)} after the one before (backoff ${formatDuration(settings.backoff * 2 ** (decision.attempt - 2))})`;
  const from =
    since.healthyAt > 0 ? `since current was last healthy (${new Date(since.healthyAt).toISOString()})` : "since the supervisor first saw current";
  return (
    `restart ${since.number} ${from}, ${waited}; ${decision.attempt} of supervise.maxRestarts ` +
    `${settings.maxRestarts} within ${formatDuration(settings.window)}`
  );
}

/** What the check says of a current that is down with `problem`: a restart, a wait (backoff), a rollback, or giving up. */
export async function currentFinding(context: SuperviseContext, problem: string): Promise<Finding> {
  const { state, now } = context;
  const settings = context.config.supervise;
  const attempts = state.attemptsSince(CURRENT_ATTEMPTS.kind, CURRENT_ATTEMPTS.key, now() - settings.window).map((attempt) => attempt.at);
  const last = await lastPromotionInPlace(new RepoGit(context.repoDir), context.signal).catch(() => undefined);
  const open = state.openIncidentOf("current", "current");
  const rollbackFailed =
    !!last &&
    !!open &&
    state.fixesOf(open.id).some((fix) => fix.action === "rollback-promotion" && fix.target === last.tag && fix.state === "failed");
  const decision = restartDecision({
    attempts,
    now: now(),
    settings,
    ...(last ? { promotion: { tag: last.tag, at: last.at.getTime() } } : {}),
    rollbackFailed,
  });
  const title = "current is down";
  switch (decision.kind) {
    case "restart":
      return {
        key: "current",
        title,
        detail: `current is down: ${problem}`,
        fix: { action: "restart-current", target: "current", detail: restartDetail(decision, restartsSinceHealthy(context), settings) },
      };
    case "wait":
      return {
        key: "current",
        title,
        detail:
          `current is down: ${problem}; restart ${restartsSinceHealthy(context).number} waits until ` +
          `${new Date(decision.untilMs).toISOString()} (backoff)`,
      };
    case "rollback":
      return {
        key: "current",
        title,
        detail: `current is down: ${problem}; ${attempts.length} restarts since the promotion did not keep it up`,
        fix: {
          action: "rollback-promotion",
          target: decision.tag,
          detail: `the failures began after ${decision.tag}: roll it back (journaled) and restart current`,
        },
      };
    default:
      return { key: "current", title, detail: `current is down: ${problem}; ${decision.reason}`, person: decision.reason };
  }
}

export const currentCheck: Check = {
  name: "current",
  run: runCurrentCheck,
  fixes: { "restart-current": restartCurrent, "rollback-promotion": rollbackPromotion },
};
