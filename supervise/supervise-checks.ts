import { FixAction } from "../config/supervise-settings.ts";
import { currentCheck } from "./current-check.ts";
import { databasesCheck } from "./databases-check.ts";
import { diskCheck } from "./disk-check.ts";
import { leftoversCheck } from "./leftovers-check.ts";
import { locksCheck } from "./locks-check.ts";
import { logsCheck } from "./logs-check.ts";
import { mcpCheck } from "./mcp-check.ts";
import { modelServerCheck } from "./model-server-check.ts";
import { novelCheck } from "./novel-errors.ts";
import { sandboxUsableCheck } from "./sandbox-usable-check.ts";
import type { Check, Fix } from "./supervise-check.ts";
import { toolHealthCheck } from "./tool-health-check.ts";

/**
 * Every check of a round, in the order they run: current first, so a restart is not held up by slower checks; an error
 * no check knows (`novel`) last. A check is its file (its name, how it runs, the fixes its findings ask for) and its
 * entry here; a fix that is a new kind of action is also a name in `FIX_ACTIONS` (config/supervise-settings.ts), the
 * words `supervise.autoFix` may use.
 */
export const SUPERVISE_CHECKS: readonly Check[] = [
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
  novelCheck,
];

/** The check of a pattern, when it is one of the known checks. */
export function checkNamed(name: string): Check | undefined {
  return SUPERVISE_CHECKS.find((check) => check.name === name);
}

/** A fix action as the state or a model names it (text), with the check whose fix it is; undefined for no known fix. */
export function fixNamed(action: string): { fix: Fix; check: Check } | undefined {
  const known = FixAction.safeParse(action);
  if (!known.success) return undefined;
  for (const check of SUPERVISE_CHECKS) {
    const fix = check.fixes?.[known.data];
    if (fix) return { fix, check };
  }
  return undefined;
}
