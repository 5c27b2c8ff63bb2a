import { FixAction } from "../config/supervise-settings.ts";
import { restartCurrent, rollbackPromotion } from "./current-fixes.ts";
import { databasesCheck, rebuildRegistry } from "./databases-check.ts";
import { currentCheck } from "./current-check.ts";
import { diskCheck, freeDisk } from "./disk-check.ts";
import { leftoversCheck, removeLeftoversFix } from "./leftovers-check.ts";
import { clearStaleLock, finishInterruptedFix, locksCheck } from "./locks-check.ts";
import { logsCheck, rotateLogs } from "./logs-check.ts";
import { holdMcpServerFix, mcpCheck } from "./mcp-check.ts";
import { modelServerCheck, pauseGrowFix } from "./model-server-check.ts";
import { restoreMemory } from "./restore-memory.ts";
import { sandboxUsableCheck } from "./sandbox-usable-check.ts";
import type { Check, FixExecutor, PatternName } from "./supervise-check.ts";
import { handToGrow, toolHealthCheck } from "./tool-health-check.ts";

/** Every check of a round, in the order they run: current first, so a restart is not held up by slower checks. */
export const ALL_CHECKS: readonly Check[] = [
  currentCheck,
  modelServerCheck,
  diskCheck,
  locksCheck,
  leftoversCheck,
  sandboxUsableCheck,
  databasesCheck,
  mcpCheck,
  toolHealthCheck,
  logsCheck,
];

/** How each known fix is checked and applied. */
export const FIX_EXECUTORS: Record<FixAction, FixExecutor> = {
  "restart-current": restartCurrent,
  "rollback-promotion": rollbackPromotion,
  "pause-grow": pauseGrowFix,
  "free-disk": freeDisk,
  "clear-stale-lock": clearStaleLock,
  "remove-leftovers": removeLeftoversFix,
  "rebuild-registry": rebuildRegistry,
  "restore-memory": restoreMemory,
  "hold-mcp-server": holdMcpServerFix,
  "hand-to-grow": handToGrow,
  "rotate-logs": rotateLogs,
  "finish-interrupted": finishInterruptedFix,
};

/** The executor of a fix action as the state records it (text), or undefined for a name that is no known fix. */
export function executorOf(action: string): FixExecutor | undefined {
  const known = FixAction.safeParse(action);
  return known.success ? FIX_EXECUTORS[known.data] : undefined;
}

/** The check of a pattern, when it is one of the known ten. */
export function checkNamed(name: PatternName | string): Check | undefined {
  return ALL_CHECKS.find((check) => check.name === name);
}
