import { statSync } from "node:fs";
import { readSandboxFile } from "../sandbox/read-sandbox-file.ts";
import { join } from "node:path";
import type { GrowSettings, GrowWindow } from "../config/grow-settings.ts";
import { generatedToolFolders } from "../config/tool-names.ts";
import { generatedToolPath } from "../config/workspace-paths.ts";
import { type CallFailure, judgesTool, readToolCalls, type ToolCall } from "./tool-calls.ts";

// Which promoted tool no longer earns its place (docs/ARCHITECTURE.md, "Tool health"). Only the calls of the
// tool.ts promoted now count, made since it was promoted (`promotedAt`, from its promotion's tag): a rebuilt tool
// starts afresh, even when the toolsmith wrote the very code that was rolled back (the same version). Its last window is its newest `window.calls`
// calls
// no older than `window.hours` before now; the window before ends where the last one begins (at its oldest
// call when full, else `window.hours` before now) and is made the same way. A window with fewer than
// MIN_JUDGED_CALLS calls is not judged. Calls its own input schema refused, and calls their callers cut, are not the
// tool's doing: they count in neither window (anyone who may call a tool could otherwise have it rolled back).

/** Calls a window needs before its rate means anything (or the window's size, if smaller). */
export const MIN_JUDGED_CALLS = 10;
/** Points (of 100) the success rate may fall from one window to the next before the tool is rolled back. */
export const MAX_SUCCESS_DROP = 0.05;
/** Failing calls kept as evidence, newest first. */
const FAILING_SAMPLES = 5;

/** One window's figures. */
export type WindowFigures = {
  from: string;
  to: string;
  calls: number;
  ok: number;
  failed: number;
  successRate: number;
  failureRate: number;
  failedBy: Partial<Record<CallFailure | "unknown", number>>;
};

/** A failing call of the last window, for the proposal to rebuild the tool: its input and error, redacted and cut short. */
export type FailingCall = { time: string; reason: CallFailure | "unknown"; input: string; error?: string };

/** Why a tool is to be rolled back, in figures a report can show. */
export type RollbackEvidence = {
  /** sha256 of the tool.ts whose calls were judged. */
  version: string;
  /** `success-drop`: more than 5 points below the window before; `failure-rate`: failures above grow.maxFailureRate. */
  reasons: ("success-drop" | "failure-rate")[];
  /** One line saying both windows' rates and the bound crossed. */
  summary: string;
  last: WindowFigures;
  previous?: WindowFigures;
  window: GrowWindow;
  maxFailureRate: number;
  failingInputs: FailingCall[];
};

/** A promoted tool unused for grow.pruneUnusedDays: proposed for removal (removed only under grow.autoPromote). */
export type PruneProposal = {
  tool: string;
  /** Its newest call; absent when it was never called. */
  lastCall?: string;
  /** When it was last used or, if later, promoted (its metadata.json written). */
  idleSince: string;
  idleDays: number;
};

/** What `org grow` learns about its promoted tools in one run. */
export type ToolHealth = {
  /** The one tool to roll back this run, the worst of those past a bound; absent when every tool holds. */
  rollback?: { tool: string; evidence: RollbackEvidence };
  prune: PruneProposal[];
  /** Every promoted tool's windows, judged or not (for the report). */
  judged: { tool: string; last?: WindowFigures; previous?: WindowFigures; reasons: RollbackEvidence["reasons"] }[];
};

/** The calls of one window: newest first from `endIndex` (exclusive), at most `calls`, none at or before `end − hours`. */
function takeWindow(calls: readonly ToolCall[], endIndex: number, end: number, window: GrowWindow): { start: number; startIndex: number } {
  const span = window.hours * 3_600_000;
  let index = endIndex;
  while (index > 0 && endIndex - index < window.calls) {
    const call = calls[index - 1];
    if (call === undefined || call.t <= end - span) break;
    index -= 1;
  }
  const full = endIndex - index >= window.calls;
  return { startIndex: index, start: full ? (calls[index]?.t ?? end - span) : end - span };
}

function figures(calls: readonly ToolCall[], from: number, to: number): WindowFigures {
  const failedBy: WindowFigures["failedBy"] = {};
  let ok = 0;
  for (const call of calls) {
    if (call.ok) ok += 1;
    else failedBy[call.reason ?? "unknown"] = (failedBy[call.reason ?? "unknown"] ?? 0) + 1;
  }
  const total = calls.length;
  return {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    calls: total,
    ok,
    failed: total - ok,
    successRate: total > 0 ? ok / total : 0,
    failureRate: total > 0 ? (total - ok) / total : 0,
    failedBy,
  };
}

const percent = (rate: number) => `${(rate * 100).toFixed(1)} %`;

/**
 * Judges one tool's calls (oldest first, all of one version): its last window and the one before, and whether
 * either bound is crossed.
 */
export function judgeCalls(
  calls: readonly ToolCall[],
  settings: Pick<GrowSettings, "window" | "maxFailureRate">,
  now: number,
): { last?: WindowFigures; previous?: WindowFigures; reasons: RollbackEvidence["reasons"]; lastCalls: readonly ToolCall[] } {
  const { window, maxFailureRate } = settings;
  const minimum = Math.min(MIN_JUDGED_CALLS, window.calls);
  // A call refused by the tool's own input schema, or cut by its caller, judges the caller, not the tool.
  const upToNow = calls.filter((call) => call.t <= now && judgesTool(call));
  const lastWindow = takeWindow(upToNow, upToNow.length, now, window);
  const lastCalls = upToNow.slice(lastWindow.startIndex);
  if (lastCalls.length < minimum) return { reasons: [], lastCalls };
  const last = figures(lastCalls, lastWindow.start, now);
  const reasons: RollbackEvidence["reasons"] = [];
  const before = takeWindow(upToNow, lastWindow.startIndex, lastWindow.start, window);
  const previousCalls = upToNow.slice(before.startIndex, lastWindow.startIndex);
  const previous = previousCalls.length >= minimum ? figures(previousCalls, before.start, lastWindow.start) : undefined;
  // A small tolerance so that exactly 5 points (0.9 − 0.85 in floating point) is not "more than 5".
  if (previous && previous.successRate - last.successRate > MAX_SUCCESS_DROP + 1e-9) reasons.push("success-drop");
  if (last.failureRate > maxFailureRate) reasons.push("failure-rate");
  return { last, ...(previous ? { previous } : {}), reasons, lastCalls };
}

/** tool.ts is read as any tool file is: without following a link or blocking on a FIFO, and bounded. */
const MAX_TOOL_BYTES = 400_000;

function sha256OfToolCode(workspaceRoot: string, tool: string): string | undefined {
  try {
    const code = readSandboxFile(workspaceRoot, generatedToolPath(tool, "tool.ts"), MAX_TOOL_BYTES);
    return code === undefined ? undefined : new Bun.CryptoHasher("sha256").update(code).digest("hex");
  } catch {
    // A link, a FIFO or a file too big: not a tool that runs, so not one to judge.
    return undefined;
  }
}

function promotedAt(workspaceRoot: string, tool: string): number | undefined {
  return statSync(join(workspaceRoot, generatedToolPath(tool, "metadata.json")), { throwIfNoEntry: false })?.mtimeMs;
}

/**
 * The health of the tools promoted into `<workspaceRoot>/tools/generated/`, from the calls recorded under
 * `<workspaceRoot>/.org/usage/` since each was promoted (`promotedAt`; all of its version's calls when not given): at
 * most one tool to roll back (the lowest success rate in its last window of those past a bound, ties by name) with
 * its evidence, and the tools unused for grow.pruneUnusedDays. Reads only; `org grow` acts on it.
 */
export function judgeToolHealth(options: {
  workspaceRoot: string;
  config: { grow: GrowSettings };
  now?: Date;
  /** When each tool's current promotion was made (`git/last-promotion.ts`'s `toolPromotions`): its calls before it are not judged. */
  promotedAt?: ReadonlyMap<string, Date>;
}): ToolHealth {
  const { workspaceRoot } = options;
  const settings = options.config.grow;
  const now = (options.now ?? new Date()).getTime();
  const calls = readToolCalls(workspaceRoot);
  const judged: ToolHealth["judged"] = [];
  const failing: { tool: string; evidence: RollbackEvidence }[] = [];
  const prune: PruneProposal[] = [];
  for (const tool of generatedToolFolders(workspaceRoot).names) {
    const named = calls.filter((call) => call.tool === tool);
    const version = sha256OfToolCode(workspaceRoot, tool);
    if (version !== undefined) {
      const since = options.promotedAt?.get(tool)?.getTime() ?? Number.NEGATIVE_INFINITY;
      const verdict = judgeCalls(
        named.filter((call) => call.version === version && call.t >= since),
        settings,
        now,
      );
      judged.push({
        tool,
        ...(verdict.last ? { last: verdict.last } : {}),
        ...(verdict.previous ? { previous: verdict.previous } : {}),
        reasons: verdict.reasons,
      });
      if (verdict.last && verdict.reasons.length > 0)
        failing.push({ tool, evidence: evidenceOf(version, verdict.last, verdict.previous, verdict.reasons, verdict.lastCalls, settings) });
    }
    if (settings.pruneUnusedDays !== undefined) {
      const lastCall = named.reduce<number | undefined>((newest, call) => (newest === undefined || call.t > newest ? call.t : newest), undefined);
      const idleSince = Math.max(lastCall ?? Number.NEGATIVE_INFINITY, promotedAt(workspaceRoot, tool) ?? Number.NEGATIVE_INFINITY);
      const idleDays = (now - idleSince) / 86_400_000;
      if (Number.isFinite(idleSince) && idleDays > settings.pruneUnusedDays) {
        prune.push({
          tool,
          ...(lastCall !== undefined ? { lastCall: new Date(lastCall).toISOString() } : {}),
          idleSince: new Date(idleSince).toISOString(),
          idleDays: Math.floor(idleDays),
        });
      }
    }
  }
  failing.sort((a, b) => a.evidence.last.successRate - b.evidence.last.successRate || a.tool.localeCompare(b.tool));
  const worst = failing[0];
  return { ...(worst ? { rollback: worst } : {}), prune, judged };
}

function evidenceOf(
  version: string,
  last: WindowFigures,
  previous: WindowFigures | undefined,
  reasons: RollbackEvidence["reasons"],
  lastCalls: readonly ToolCall[],
  settings: Pick<GrowSettings, "window" | "maxFailureRate">,
): RollbackEvidence {
  const parts = [`success ${percent(last.successRate)} over its last ${last.calls} calls`];
  if (previous) parts.push(`${percent(previous.successRate)} over the ${previous.calls} before`);
  if (reasons.includes("failure-rate"))
    parts.push(`failures ${percent(last.failureRate)} above grow.maxFailureRate ${percent(settings.maxFailureRate)}`);
  const failingInputs = lastCalls
    .filter((call) => !call.ok)
    .slice(-FAILING_SAMPLES)
    .reverse()
    .map(
      (call): FailingCall => ({
        time: new Date(call.t).toISOString(),
        reason: call.reason ?? "unknown",
        input: call.input ?? "",
        ...(call.error !== undefined ? { error: call.error } : {}),
      }),
    );
  return {
    version,
    reasons,
    summary: parts.join("; "),
    last,
    ...(previous ? { previous } : {}),
    window: settings.window,
    maxFailureRate: settings.maxFailureRate,
    failingInputs,
  };
}
