import { checkNamed, executorOf } from "./fix-executors.ts";
import { isMuted } from "./mutes.ts";
import { type Check, type CheckResult, type Finding, scrub, scrubResult, secretsOf, type SuperviseContext } from "./supervise-check.ts";
import type { FixRow, FixState, IncidentRow } from "./supervisor-state.ts";
import { notify } from "./webhook.ts";

/** What one round did, for `--json` and the log. */
export type RoundSummary = {
  at: string;
  ms: number;
  checks: { name: string; state: string; detail: string; ms: number }[];
  opened: { id: string; pattern: string; title: string }[];
  resolved: { id: string; pattern: string; title: string }[];
  fixes: { id: string; incident: string; action: string; target: string; state: FixState; detail: string }[];
};

export function emptySummary(at: number): RoundSummary {
  return { at: new Date(at).toISOString(), ms: 0, checks: [], opened: [], resolved: [], fixes: [] };
}

/**
 * Runs one check; one that throws is an `error` state with its message, never the end of the round. What it says is
 * scrubbed with the room's secret set before anything keeps, logs or sends it.
 */
export async function runCheck(check: Check, context: SuperviseContext): Promise<CheckResult & { ms: number }> {
  const started = performance.now();
  try {
    const result = await check.run(context);
    return scrubResult(context, { ...result, ms: performance.now() - started });
  } catch (error) {
    if (context.signal.aborted) throw error;
    return scrubResult(context, {
      state: "error",
      detail: `the check failed: ${error instanceof Error ? error.message : String(error)}`,
      findings: [],
      ms: performance.now() - started,
    });
  }
}

/** Tells the state the room's secret set of this round: everything it keeps is redacted with it. */
export function useRoundSecrets(context: SuperviseContext): void {
  context.state.useSecrets(secretsOf(context));
}

function noticeKey(incident: Pick<IncidentRow, "pattern" | "key">): string {
  return `${incident.pattern}:${incident.key}`;
}

/** Closes an incident: resolved, its applied fixes verified, the check's own follow-up (a pause lifted), the recovery said. */
export async function closeIncident(
  incident: IncidentRow,
  check: Check | undefined,
  context: SuperviseContext,
  why: string,
  summary: RoundSummary,
): Promise<void> {
  const now = context.now();
  context.state.resolveIncident(incident.id, now, why);
  for (const fix of context.state.fixesOf(incident.id)) if (fix.state === "applied") context.state.moveFix(fix.id, "verified", `${fix.detail}; ${why}`, now);
  const more = await check?.resolved?.(incident, context);
  summary.resolved.push({ id: incident.id, pattern: incident.pattern, title: incident.title });
  const text = scrub(context, `recovered ${incident.id}: ${incident.title}: ${why}${more ? `; ${more}` : ""}`);
  context.state.event("recovered", text, now);
  context.say(text);
  if (!isMuted(context.state, incident, now)) await notify(context, noticeKey(incident), text);
}

/**
 * Applies a fix and records its lifecycle: refused (the target is not one it takes now), applied, then verified —
 * at once by running its check again (the problem must be gone), by the fix itself, or by a later round — or failed.
 */
export async function applyFix(fix: FixRow, incident: IncidentRow, context: SuperviseContext, summary: RoundSummary): Promise<FixRow> {
  const executor = executorOf(fix.action);
  const record = (state: FixState, said: string) => {
    const detail = scrub(context, said);
    context.state.moveFix(fix.id, state, detail, context.now());
    summary.fixes.push({ id: fix.id, incident: incident.id, action: fix.action, target: fix.target, state, detail });
    context.say(`fix ${fix.id} (${fix.action} ${fix.target}) ${state}: ${detail}`);
  };
  const refusal = executor ? await executor.refuse(fix.target, context) : `${fix.action} is no fix org knows`;
  if (!executor || refusal !== undefined) {
    record("failed", `not applied: ${refusal}`);
    return context.state.requireFix(fix.id);
  }
  context.state.moveFix(fix.id, "applied", `applying: ${fix.detail}`, context.now());
  const applied = await executor
    .apply(fix.target, context)
    .catch((error: unknown) => ({ ok: false, detail: error instanceof Error ? error.message : String(error), verify: undefined }));
  const outcome = { ...applied, detail: scrub(context, applied.detail) };
  if (!outcome.ok) record("failed", outcome.detail);
  else if (outcome.verify === "self") record("verified", outcome.detail);
  else if (outcome.verify === "later") record("applied", `${outcome.detail}; verified once a later round finds the problem gone`);
  else await verifyByCheck(fix, incident, outcome.detail, context, summary, record);
  return context.state.requireFix(fix.id);
}

async function verifyByCheck(
  fix: FixRow,
  incident: IncidentRow,
  detail: string,
  context: SuperviseContext,
  summary: RoundSummary,
  record: (state: FixState, detail: string) => void,
): Promise<void> {
  // A novel incident is over when its error stops repeating, which only later rounds can see.
  const check = incident.pattern === "novel" ? undefined : (checkNamed(incident.pattern) ?? checkNamed(executorOf(fix.action)?.check ?? ""));
  if (!check) {
    record("applied", `${detail}; verified once the error stops repeating`);
    return;
  }
  const again = await runCheck(check, context);
  context.state.recordCheck(check.name, again.state, again.detail, context.now(), again.ms);
  const shown = summary.checks.find((entry) => entry.name === check.name);
  if (shown) Object.assign(shown, { state: again.state, detail: again.detail });
  const still = again.findings.find((finding) => finding.key === incident.key);
  if (still) {
    record("failed", `${detail}; but the check still finds it: ${still.detail}`);
    return;
  }
  record("verified", detail);
  const open = context.state.incident(incident.id);
  if (open?.state === "open") await closeIncident(open, check, context, `fixed by ${fix.id} (${fix.action}): ${detail}`, summary);
}

/** Whether the incident already has a fix under way for this plan: one proposed for it, or one applied and awaiting a later round. */
function fixUnderWay(latest: FixRow | undefined, plan: NonNullable<Finding["fix"]>): boolean {
  if (!latest) return false;
  if (latest.state === "applied") return true;
  return latest.state === "proposed" && latest.action === plan.action && latest.target === plan.target;
}

/** One finding of a check: its incident opened or kept, its fix proposed and (when `supervise.autoFix` lists it) applied. */
async function handleFinding(check: Check, finding: Finding, context: SuperviseContext, summary: RoundSummary): Promise<void> {
  const { state } = context;
  const now = context.now();
  const { incident, opened } = state.openIncident(check.name, finding.key, finding.title, finding.detail, now, finding.excerpt);
  if (opened) {
    summary.opened.push({ id: incident.id, pattern: incident.pattern, title: incident.title });
    state.event("incident", `${incident.id}: ${finding.title}: ${finding.detail}`, now);
    context.say(`incident ${incident.id}: ${finding.title}: ${finding.detail}`);
  }
  const latest = state.fixesOf(incident.id)[0];
  const plan = finding.fix && !fixUnderWay(latest, finding.fix) ? finding.fix : undefined;
  const auto = plan !== undefined && context.config.supervise.autoFix.includes(plan.action);
  const muted = isMuted(state, incident, now);
  if (plan && latest?.state === "proposed") state.moveFix(latest.id, "failed", `superseded: the check now asks for ${plan.action} ${plan.target}`, now);
  const fix = plan ? state.proposeFix(incident.id, plan.action, plan.target, "supervisor", auto, plan.detail, now) : undefined;
  if (fix && !auto) summary.fixes.push({ id: fix.id, incident: incident.id, action: fix.action, target: fix.target, state: "proposed", detail: fix.detail });
  if (opened && !muted) {
    const next = !fix
      ? ""
      : auto
        ? ` — applying ${fix.action} ${fix.target} (${fix.id})`
        : ` — proposed ${fix.id}: ${fix.action} ${fix.target}; 'org supervise apply ${fix.id}' applies it`;
    await notify(context, noticeKey(incident), `incident ${incident.id}: ${finding.title}: ${finding.detail}${next}`);
  }
  if (fix && auto) await applyFix(fix, incident, context, summary);
  else if (!plan && !finding.fix && latest?.state === "failed" && state.get(`person:${incident.id}`) === undefined) {
    state.set(`person:${incident.id}`, String(now));
    if (!muted) await notify(context, `${noticeKey(incident)}:person`, `needs a person ${incident.id}: ${finding.title}: ${finding.detail}`);
  }
}

/** Settles what one check found against the open incidents of its pattern. */
export async function settleCheck(check: Check, result: CheckResult, context: SuperviseContext, summary: RoundSummary): Promise<void> {
  const keys = new Set(result.findings.map((finding) => finding.key));
  for (const incident of context.state.openIncidents(check.name)) {
    if (!keys.has(incident.key)) await closeIncident(incident, check, context, "the check no longer finds it", summary);
  }
  for (const finding of result.findings) {
    // A fix applied for an earlier finding of this round may have closed this one's cause already.
    await handleFinding(check, finding, context, summary);
  }
}

/** One round: every check in turn, each one's findings settled (incidents, fixes, reports) before the next runs. */
export async function superviseRound(context: SuperviseContext, checks: readonly Check[]): Promise<RoundSummary> {
  const started = performance.now();
  const summary = emptySummary(context.now());
  useRoundSecrets(context);
  for (const check of checks) {
    context.signal.throwIfAborted();
    const result = await runCheck(check, context);
    context.state.recordCheck(check.name, result.state, result.detail, context.now(), result.ms);
    summary.checks.push({ name: check.name, state: result.state, detail: result.detail, ms: Math.round(result.ms) });
    await settleCheck(check, result, context, summary);
  }
  summary.ms = Math.round(performance.now() - started);
  return summary;
}
