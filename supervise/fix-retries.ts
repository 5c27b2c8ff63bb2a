import { formatDuration } from "../config/duration.ts";
import { fixNamed } from "./supervise-checks.ts";
import type { FixPlan, SuperviseContext } from "./supervise-check.ts";
import type { FixRow, IncidentRow } from "./supervisor-state.ts";

// A fix that failed is tried again with a backoff — `supervise.backoff`, doubled for each failure in a row, at most
// `supervise.window` — never every round; after `supervise.maxRestarts` failures in a row a person is asked to look
// (it is still tried, at the longest wait). A fix whose check paces its own tries (restarts of current) is left to it.

/** The failed tries of `plan` in a row for an incident, newest first (`fixes` newest first, as `fixesOf` gives them). */
export function failedTries(fixes: readonly FixRow[], plan: { action: string; target: string }): FixRow[] {
  const tries: FixRow[] = [];
  for (const fix of fixes) {
    if (fix.state !== "failed" || fix.action !== plan.action || fix.target !== plan.target) break;
    tries.push(fix);
  }
  return tries;
}

/** How long after the last of `failures` failed tries in a row the next one waits. */
export function retryWait(context: SuperviseContext, failures: number): number {
  const { backoff, window } = context.config.supervise;
  return Math.min(backoff * 2 ** Math.max(0, failures - 1), Math.max(window, backoff));
}

/**
 * The fix to propose for an incident now, of what its check asks for: none while one is under way (applied and waiting
 * for a later round, or the same one proposed and waiting for a person), nor while a failed try of it waits its backoff.
 */
export function fixToPropose(planned: FixPlan | undefined, incident: IncidentRow, context: SuperviseContext): FixPlan | undefined {
  if (!planned) return undefined;
  const fixes = context.state.fixesOf(incident.id);
  const latest = fixes[0];
  if (latest?.state === "applied") return undefined;
  if (latest?.state === "proposed" && latest.action === planned.action && latest.target === planned.target) return undefined;
  if (fixNamed(planned.action)?.fix.ownBackoff) return planned;
  const tries = failedTries(fixes, planned);
  const last = tries[0];
  return last === undefined || context.now() >= last.updatedAt + retryWait(context, tries.length) ? planned : undefined;
}

/** What a failed fix's report adds: when it is tried again, unless its check paces it. */
export function nextTry(fix: FixRow, incident: IncidentRow, context: SuperviseContext): string {
  if (fixNamed(fix.action)?.fix.ownBackoff) return "";
  const tries = failedTries(context.state.fixesOf(incident.id), fix);
  return `; tried again in ${formatDuration(retryWait(context, tries.length))} at the earliest (${tries.length} failed in a row)`;
}

/**
 * Why an incident needs a person now, said once per incident: its check gave up (`person`), its fix failed and the check
 * offers no other, or the same fix failed `supervise.maxRestarts` times in a row.
 */
export function personNeeded(finding: { fix?: FixPlan; person?: string }, incident: IncidentRow, context: SuperviseContext): string | undefined {
  const key = `person:${incident.id}`;
  if (context.state.get(key) !== undefined) return undefined;
  const fixes = context.state.fixesOf(incident.id);
  const latest = fixes[0];
  let why = finding.person;
  // A failed fix its check paces (a restart of current waiting out its backoff) is not the end of the tries: the check
  // says when it gives up, and that is what a person hears, once.
  if (why === undefined && !finding.fix && latest?.state === "failed" && !fixNamed(latest.action)?.fix.ownBackoff)
    why = `${latest.action} ${latest.target} failed (${latest.detail}) and no other fix is left to try`;
  if (why === undefined && finding.fix && !fixNamed(finding.fix.action)?.fix.ownBackoff) {
    const tries = failedTries(fixes, finding.fix).length;
    if (tries >= context.config.supervise.maxRestarts)
      why =
        `${finding.fix.action} ${finding.fix.target} failed ${tries} times in a row ` +
        `(supervise.maxRestarts ${context.config.supervise.maxRestarts}); it is tried again every ` +
        `${formatDuration(retryWait(context, tries))} at most`;
  }
  if (why !== undefined) context.state.set(key, String(context.now()));
  return why;
}
