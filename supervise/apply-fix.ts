import { applyFix, emptySummary, type RoundSummary, useRoundSecrets } from "./supervise-round.ts";
import type { SuperviseContext } from "./supervise-check.ts";
import type { FixRow, IncidentRow } from "./supervisor-state.ts";
import { OrgError } from "../errors/org-error.ts";

/** A fix that cannot be applied now; the message says why and what to do. */
export class FixNotApplicableError extends OrgError {
  override name = "FixNotApplicableError";
}

/**
 * `org supervise apply ID`: applies a fix that was proposed (or failed and may be tried again), the same way a round
 * applies an automatic one: its target checked again, applied, verified, each step recorded. The caller holds the round
 * lock, so no round acts on the same thing meanwhile.
 */
export async function applyFixById(context: SuperviseContext, id: string): Promise<{ fix: FixRow; incident: IncidentRow; summary: RoundSummary }> {
  useRoundSecrets(context);
  const fix = context.state.fix(id);
  if (!fix)
    throw new FixNotApplicableError(`there is no fix ${JSON.stringify(id.slice(0, 40))}; 'org supervise status' lists the fixes and their ids`);
  const incident = context.state.incident(fix.incident);
  if (!incident) throw new FixNotApplicableError(`fix ${id} belongs to no incident the supervisor knows`);
  if (fix.state === "verified") throw new FixNotApplicableError(`fix ${id} (${fix.action} ${fix.target}) is already applied and verified`);
  if (fix.state === "applied")
    throw new FixNotApplicableError(`fix ${id} (${fix.action} ${fix.target}) is applied and waits for a round to verify it`);
  if (incident.state !== "open")
    throw new FixNotApplicableError(
      `incident ${incident.id} (${incident.title}) is over since ${new Date(incident.resolvedAt ?? 0).toISOString()}; nothing to fix`,
    );
  const summary = emptySummary(context.now());
  context.state.event("apply", `a person applies ${fix.id} (${fix.action} ${fix.target}) of ${incident.id}`, context.now());
  const done = await applyFix(fix, incident, context, summary);
  return { fix: done, incident: context.state.incident(incident.id) ?? incident, summary };
}
