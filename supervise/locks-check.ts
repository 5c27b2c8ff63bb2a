import { lstatSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve, sep } from "node:path";
import { isProcessAlive } from "../concurrency/process-alive.ts";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { PromotionJournal } from "../cycle/promotion-journal.ts";
import { promotionContext } from "../cycle/promotion-context.ts";
import { recoverInterrupted } from "../cycle/rollback.ts";
import { clearDeadPidLock, pidLockState } from "../security/pid-lock.ts";
import { supervisedCurrent } from "./current-fixes.ts";
import type { Check, Fix, Finding, SuperviseContext } from "./supervise-check.ts";

/** A lock file cut short (its taker died between making it and writing it) counts as dead once it is this old. */
const TORN_LOCK_MS = 60_000;
/** The folders under a `.org/` where org keeps lock and pid files. */
const LOCK_FOLDERS = ["", "grow", "supervisor", "serve"];

/** The lock and pid files of the workspace's and the checkout's `.org/`. */
function lockFiles(context: SuperviseContext): string[] {
  const found: string[] = [];
  for (const root of [...new Set([context.workspaceDir, context.repoDir])]) {
    for (const folder of LOCK_FOLDERS) {
      const dir = join(root, ORG_DIR, folder);
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const name of names)
        if (/\.(lock|pid)$/.test(name) && lstatSync(join(dir, name), { throwIfNoEntry: false })?.isFile()) found.push(join(dir, name));
    }
  }
  return found;
}

/** Who held the lock or pid file at `path`, when that process is dead; undefined when it lives (or the file is not a lock). */
export function deadHolder(path: string, now: number): string | undefined {
  if (path.endsWith(".pid")) {
    const pid = Number(readFileSync(path, "utf8").trim());
    return Number.isSafeInteger(pid) && pid > 0 && !isProcessAlive(pid) ? `pid ${pid}, which is gone` : undefined;
  }
  const state = pidLockState(path);
  if (state.kind !== "dead") return undefined;
  if (state.holder) return `pid ${state.holder.pid} (${state.holder.command || "no command"}, since ${state.holder.since || "?"}), which is gone`;
  const age = now - (lstatSync(path, { throwIfNoEntry: false })?.mtimeMs ?? now);
  return age > TORN_LOCK_MS ? "a taker that died before it wrote its name" : undefined;
}

/** Pattern 4: a lock or pid file whose process is dead, and a promote or rollback a dead run left in the journal. */
async function runLocksCheck(context: SuperviseContext): Promise<{ state: "ok" | "warn"; detail: string; findings: Finding[] }> {
  const findings: Finding[] = [];
  for (const path of lockFiles(context)) {
    const holder = deadHolder(path, context.now());
    if (holder)
      findings.push({
        key: path,
        title: `a lock of a dead process: ${path}`,
        detail: `held by ${holder}`,
        fix: { action: "clear-stale-lock", target: path, detail: `clear ${path}` },
      });
  }
  const lock = pidLockState(join(context.repoDir, ORG_DIR, "promotion.lock"));
  if (lock.kind !== "live") {
    try {
      const entry = new PromotionJournal(context.repoDir).read();
      if (entry) {
        findings.push({
          key: "promotion-journal",
          title: `an interrupted ${entry.op} (${entry.tag})`,
          detail:
            `the promotion journal of ${context.repoDir} holds ${entry.op} ${entry.tag} at step ` +
            `${entry.step}, and no process runs it; the next promote or rollback finishes it`,
          fix: { action: "finish-interrupted", target: entry.tag, detail: `finish ${entry.op} ${entry.tag} from step ${entry.step}` },
        });
      }
    } catch (error) {
      findings.push({
        key: "promotion-journal",
        title: "the promotion journal is damaged",
        detail: error instanceof Error ? error.message : String(error),
      });
    }
  }
  if (findings.length === 0) return { state: "ok", detail: "no lock of a dead process; no interrupted promote or rollback", findings };
  return { state: "warn", detail: findings.map((finding) => finding.title).join("; "), findings };
}

/** Whether `path` is a lock or pid file under the `.org/` of the workspace or the checkout. */
function isOrgLock(path: string, context: SuperviseContext): boolean {
  const full = resolve(path);
  return /\.(lock|pid)$/.test(full) && [context.workspaceDir, context.repoDir].some((root) => full.startsWith(`${resolve(root, ORG_DIR)}${sep}`));
}

/** `clear-stale-lock`: a lock whose holder died is taken over and released (a live holder keeps it); a dead pid file removed. */
export const clearStaleLock: Fix = {
  target: "a .lock or .pid file under .org/ whose process is dead: clear it",
  async refuse(target, context) {
    if (!isOrgLock(target, context))
      return `clear-stale-lock takes a .lock or .pid file under .org/ of the workspace or the checkout, not ${JSON.stringify(target.slice(0, 200))}`;
    if (!lstatSync(target, { throwIfNoEntry: false })) return `${target} is not there`;
    return deadHolder(target, context.now()) ? undefined : `${target} is held by a live process`;
  },
  async apply(target, context) {
    const holder = deadHolder(target, context.now());
    if (!holder) return { ok: false, detail: `${target} is no longer held by a dead process; left alone` };
    if (target.endsWith(".pid")) rmSync(target, { force: true });
    else {
      const cleared = clearDeadPidLock(target, `org supervise (pid ${process.pid})`);
      if (cleared.kind === "busy") return { ok: false, detail: `pid ${cleared.holder.pid} took ${target} meanwhile; left to it` };
    }
    return { ok: true, detail: `cleared ${target} (it was held by ${holder})` };
  },
};

/** `finish-interrupted`: the promote or rollback a dead run left in the journal carried to its end, as the next one would. */
export const finishInterruptedFix: Fix = {
  announce: true,
  target: "the tag in the promotion journal: finish that interrupted promote or rollback",
  async refuse(target, context) {
    const entry = new PromotionJournal(context.repoDir).read();
    return entry?.tag === target
      ? undefined
      : `the promotion journal holds ${entry ? entry.tag : "nothing"}, not ${JSON.stringify(target.slice(0, 80))}`;
  },
  async apply(_target, context) {
    const lines: string[] = [];
    const log = (line: string) => lines.push(line);
    try {
      const finished = await recoverInterrupted(
        promotionContext({ repo: context.repoDir, current: supervisedCurrent(context, log), log, signal: context.signal }),
      );
      if (finished.kind === "blocked") return { ok: false, detail: finished.reason };
      const { recovered } = finished;
      // An abandoned change is finished too: nothing had moved, and the journal is cleared.
      return recovered
        ? { ok: true, detail: `${recovered.op} ${recovered.tag} ${recovered.outcome}: ${recovered.detail}` }
        : { ok: true, detail: "nothing was left to finish" };
    } catch (error) {
      return { ok: false, detail: `finishing it failed: ${error instanceof Error ? error.message : String(error)} (${lines.slice(-2).join(" / ")})` };
    }
  },
};

export const locksCheck: Check = {
  name: "locks",
  run: runLocksCheck,
  fixes: { "clear-stale-lock": clearStaleLock, "finish-interrupted": finishInterruptedFix },
};
