import { writeTodaysReport } from "./daily-report.ts";
import { checkNamed, fixNamed } from "./supervise-checks.ts";
import { fixToPropose, nextTry, personNeeded } from "./fix-retries.ts";
import { isMuted } from "./mutes.ts";
import {
  type Check,
  type CheckResult,
  type Finding,
  scrub,
  scrubResult,
  secretsOf,
  type SuperviseContext,
  workspaceSecretsOf,
} from "./supervise-check.ts";
import type { FixRow, FixState, IncidentRow } from "./supervisor-state.ts";
import type { IdleOutcome } from "./idle-run.ts";
import type { SharePullSummary } from "./share-pull.ts";
import { notify } from "./webhook.ts";

/** What one round did, for `--json` and the log. */
export type RoundSummary = {
  at: string;
  ms: number;
  checks: { name: string; state: string; detail: string; ms: number }[];
  opened: { id: string; pattern: string; title: string }[];
  resolved: { id: string; pattern: string; title: string }[];
  fixes: { id: string; incident: string; action: string; target: string; state: FixState; detail: string }[];
  /** What idle work did this round, when it is on (`supervise.idleWork`, `--idle-work`). */
  idle?: IdleOutcome;
  /** What the team's pull did this round, when `share.pullEvery` made one due (`share-pull.ts`). */
  share?: SharePullSummary;
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
      undecided: true,
      ms: performance.now() - started,
    });
  }
}

/** Tells the state the room's secret set of this round (the workspace's secret files read when not yet): everything it keeps is redacted with it. */
export function useRoundSecrets(context: SuperviseContext): void {
  context.workspaceSecrets ??= workspaceSecretsOf(context.workspaceDir, context.config);
  context.state.useSecrets(secretsOf(context));
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
  for (const fix of context.state.fixesOf(incident.id))
    if (fix.state === "applied") context.state.moveFix(fix.id, "verified", `${fix.detail}; ${why}`, now);
  const more = await check?.resolved?.(incident, context);
  summary.resolved.push({ id: incident.id, pattern: incident.pattern, title: incident.title });
  const text = scrub(context, `recovered ${incident.id}: ${incident.title}: ${why}${more ? `; ${more}` : ""}`);
  context.state.event("recovered", text, now);
  context.say(text);
  if (!isMuted(context.state, incident, now)) await notify(context, { incident: incident.id, kind: "recovered", text });
  writeTodaysReport(context);
}

/**
 * Applies a fix and records its lifecycle: refused (the target is not one it takes now), applied, then verified —
 * at once by running its check again (the problem must be gone), by the fix itself, or by a later round — or failed.
 */
export async function applyFix(fix: FixRow, incident: IncidentRow, context: SuperviseContext, summary: RoundSummary): Promise<FixRow> {
  const record = (state: FixState, said: string) => {
    const detail = scrub(context, said);
    context.state.moveFix(fix.id, state, detail, context.now());
    summary.fixes.push({ id: fix.id, incident: incident.id, action: fix.action, target: fix.target, state, detail });
    context.say(`fix ${fix.id} (${fix.action} ${fix.target}) ${state}: ${detail}`);
  };
  await attemptFix(fix, incident, context, summary, record);
  const done = context.state.requireFix(fix.id);
  if (done.state === "failed" && !isMuted(context.state, incident, context.now()))
    await notify(context, {
      incident: incident.id,
      kind: "fix-failed",
      text: `fix ${done.id} (${done.action} ${done.target}) of ${incident.id} failed: ${done.detail}${nextTry(done, incident, context)}`,
    });
  writeTodaysReport(context);
  return done;
}

/** A fix's try: refused (the target is not one it takes now), or applied and then verified (or failed), each step recorded. */
async function attemptFix(
  fix: FixRow,
  incident: IncidentRow,
  context: SuperviseContext,
  summary: RoundSummary,
  record: (state: FixState, detail: string) => void,
): Promise<void> {
  const executor = fixNamed(fix.action)?.fix;
  const refusal = executor ? await executor.refuse(fix.target, context) : `${fix.action} is no fix org knows`;
  if (!executor || refusal !== undefined) {
    record("failed", `not applied: ${refusal}`);
    return;
  }
  context.state.moveFix(fix.id, "applied", `applying: ${fix.detail}`, context.now());
  const applied = await executor
    .apply(fix.target, context)
    .catch((error: unknown) => ({ ok: false, detail: error instanceof Error ? error.message : String(error), verify: undefined }));
  const outcome = { ...applied, detail: scrub(context, applied.detail) };
  // Said before it is verified: a rollback is news before the recovery it brings.
  if (outcome.ok && executor.announce && !isMuted(context.state, incident, context.now()))
    await notify(context, {
      incident: incident.id,
      kind: "fixed",
      once: fix.id,
      text: `fix ${fix.id} (${fix.action} ${fix.target}) of ${incident.id} applied: ${outcome.detail}`,
    });
  if (!outcome.ok) record("failed", outcome.detail);
  else if (outcome.verify === "self") record("verified", outcome.detail);
  else if (outcome.verify === "later") record("applied", `${outcome.detail}; verified once a later round finds the problem gone`);
  else await verifyByCheck(fix, incident, outcome.detail, context, summary, record);
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
  const check = incident.pattern === "novel" ? undefined : (checkNamed(incident.pattern) ?? fixNamed(fix.action)?.check);
  if (!check) {
    record("applied", `${detail}; verified once the error stops repeating`);
    return;
  }
  const again = await runCheck(check, context);
  context.state.recordCheck(check.name, again.state, again.detail, context.now(), again.ms);
  const shown = summary.checks.find((entry) => entry.name === check.name);
  if (shown) Object.assign(shown, { state: again.state, detail: again.detail });
  const still = again.findings.find((finding) => finding.key === incident.key);
  if (!still && again.undecided) {
    record("applied", `${detail}; verified once a later round can judge it (${again.detail})`);
    return;
  }
  if (still) {
    record("failed", `${detail}; but the check still finds it: ${still.detail}`);
    return;
  }
  record("verified", detail);
  const open = context.state.incident(incident.id);
  if (open?.state === "open") await closeIncident(open, check, context, `fixed by ${fix.id} (${fix.action}): ${detail}`, summary);
}

/** What is said of an incident when it opens or changes its kind: the problem, the fix under way, whether a person must look. */
function incidentText(incident: IncidentRow, finding: Finding, opened: boolean, fix: FixRow | undefined, person: string | undefined): string {
  const next = !fix
    ? ""
    : fix.auto
      ? ` — applying ${fix.action} ${fix.target} (${fix.id})`
      : ` — proposed ${fix.id}: ${fix.action} ${fix.target}; 'org supervise apply ${fix.id}' applies it`;
  const shown = person === undefined || finding.detail.includes(person) ? "" : `: ${person}`;
  return (
    `incident ${incident.id}${opened ? "" : " now"}: ${finding.title}: ` +
    `${finding.detail}${next}${person === undefined ? "" : ` — needs a person${shown}`}`
  );
}

/**
 * One finding of a check: its incident opened or kept, its fix proposed (unless one is under way or a failed try waits
 * its backoff) and, when `supervise.autoFix` lists it, applied. An incident is reported when it opens or its kind
 * changes, and once when it needs a person.
 */
async function handleFinding(check: Check, finding: Finding, context: SuperviseContext, summary: RoundSummary): Promise<void> {
  const { state } = context;
  const now = context.now();
  const { incident, opened, changed } = state.openIncident(check.name, finding.key, finding.title, finding.detail, now, finding.excerpt);
  if (opened) summary.opened.push({ id: incident.id, pattern: incident.pattern, title: incident.title });
  if (opened || changed) {
    state.event("incident", `${incident.id}${opened ? "" : " now"}: ${finding.title}: ${finding.detail}`, now);
    context.say(`incident ${incident.id}${opened ? "" : " now"}: ${finding.title}: ${finding.detail}`);
  }
  // Judged on the tries so far, before this round proposes another.
  const person = personNeeded(finding, incident, context);
  const latest = state.fixesOf(incident.id)[0];
  const plan = fixToPropose(finding.fix, incident, context);
  const auto = plan !== undefined && context.config.supervise.autoFix.includes(plan.action);
  if (plan && latest?.state === "proposed")
    state.moveFix(latest.id, "failed", `superseded: the check now asks for ${plan.action} ${plan.target}`, now);
  const fix = plan ? state.proposeFix(incident.id, plan.action, plan.target, "supervisor", auto, plan.detail, now) : undefined;
  if (fix && !auto)
    summary.fixes.push({ id: fix.id, incident: incident.id, action: fix.action, target: fix.target, state: "proposed", detail: fix.detail });
  if (person !== undefined && !opened && !changed) context.say(`needs a person ${incident.id}: ${finding.title}: ${person}`);
  if (!isMuted(state, incident, now)) {
    const kind = opened ? "opened" : person !== undefined ? "gave-up" : "changed";
    if (opened || changed) await notify(context, { incident: incident.id, kind, text: incidentText(incident, finding, opened, fix, person) });
    else if (person !== undefined)
      await notify(context, { incident: incident.id, kind, text: `needs a person ${incident.id}: ${finding.title}: ${person}` });
  }
  if (opened || changed || fix) writeTodaysReport(context);
  if (fix && auto) await applyFix(fix, incident, context, summary);
}

/**
 * Settles what one check found against the open incidents of its pattern: the findings first, then the incidents no
 * longer found are closed, so a closing incident's follow-up (grow resumed) sees the problems still there.
 */
export async function settleCheck(check: Check, result: CheckResult, context: SuperviseContext, summary: RoundSummary): Promise<void> {
  const keys = new Set(result.findings.map((finding) => finding.key));
  for (const finding of result.findings) await handleFinding(check, finding, context, summary);
  if (result.undecided) return;
  for (const incident of context.state.openIncidents(check.name)) {
    if (!keys.has(incident.key)) await closeIncident(incident, check, context, "the check no longer finds it", summary);
  }
}

/**
 * One round: every check in turn, each one's findings settled (incidents, fixes, reports) before the next runs. An
 * `independent` check (no fix changes what it sees) runs from the round's start, so a slow one (the sandbox's probe
 * starts a sandbox) waits beside the others rather than after them.
 */
export async function superviseRound(context: SuperviseContext, checks: readonly Check[]): Promise<RoundSummary> {
  const started = performance.now();
  const summary = emptySummary(context.now());
  useRoundSecrets(context);
  const early = new Map(checks.filter((check) => check.independent).map((check) => [check, runCheck(check, context)]));
  // A round stopped before it reached one of them still has it settle: its rejection is not left unheard.
  for (const result of early.values()) result.catch(() => {});
  for (const check of checks) {
    context.signal.throwIfAborted();
    const result = await (early.get(check) ?? runCheck(check, context));
    context.state.recordCheck(check.name, result.state, result.detail, context.now(), result.ms);
    summary.checks.push({ name: check.name, state: result.state, detail: result.detail, ms: Math.round(result.ms) });
    await settleCheck(check, result, context, summary);
  }
  summary.ms = Math.round(performance.now() - started);
  return summary;
}
