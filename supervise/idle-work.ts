import { join } from "node:path";
import { z } from "zod";
import { sandboxPolicyFrom } from "../assembly/sandbox-policy-from.ts";
import { canonicalJson } from "../config/canonical-json.ts";
import { IdleWorkSettings } from "../config/supervise-settings.ts";
import { promotedToolsIn } from "../generated-tools/promoted-tools.ts";
import { sha256Hex, type ToolExample, type ToolSpec } from "../generated-tools/tool-metadata.ts";
import { SESSIONS_DIR } from "../config/workspace-paths.ts";
import { readGrowState } from "../grow/grow-state.ts";
import { type McpToolEntry, promotedEntries, uniqueEntries, workflowEntries } from "../mcp-server/mcp-tool-catalog.ts";
import { tokensOnDay } from "../room/tokens-used.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { httpToolRefusal } from "../serve/http-tool-policy.ts";
import { writeTodaysReport } from "./daily-report.ts";
import { IDLE_AUDIT, type IdleOutcome, IdleRun, type IdleWorkParts, personSince } from "./idle-run.ts";
import { PROPOSE_NEXT, type ProposeNext, proposeNext } from "./propose-next.ts";
import { readScheduleStates } from "./schedule-state.ts";
import { dataLine, type SuperviseContext } from "./supervise-check.ts";
import { notify } from "./webhook.ts";

// Idle work (`supervise.idleWork`, `org supervise --idle-work`): once no person has written in any session for
// `afterMinutes`, a round may do bounded work on its own, in this order: (a) each promoted tool's held-out examples run
// again in the sandbox, (b) the workflows whose scheduled run failed run again, when they may run unattended, (c) one
// question to a model, "what next?", whose answer runs only a listed tool or workflow under serve's unattended policy
// ("ask": denied). Before every step: a person's message since then, `maxMinutes`, `maxTokens` and
// `maxActionsPerRound` end it. Every action is an audit line (tool `idle-work`) and an `idle` event, which the day's
// report lists.

/** The same needs and failures are not asked about again within this. */
const ASK_AGAIN_MS = 7 * 24 * 3_600_000;

/** `supervise.idleWork` as the round runs it: the file's (once confirmed), else the defaults when --idle-work was given, else off. */
export function idleWorkSettings(settings: IdleWorkSettings | undefined, flag: boolean): IdleWorkSettings | undefined {
  return settings ?? (flag ? IdleWorkSettings.parse({}) : undefined);
}

/** The sandbox access idle work runs tools with: the supervisor's sandbox under the config's policy. */
function accessOf(context: SuperviseContext): SandboxAccess {
  return { sandbox: context.sandbox, sandboxPolicy: sandboxPolicyFrom({ config: context.config }) };
}

const roots = (context: SuperviseContext) => [...new Set([context.workspaceDir, context.repoDir])];

/** A value as a failure quotes it: redacted before it is cut, so no secret's first characters are left standing. */
const quoted = (context: SuperviseContext, value: unknown) => dataLine(context, JSON.stringify(value) ?? "null", 200);

/** What is wrong with a held-out example's output (as the toolsmith's examples stage judges it), or undefined. */
function exampleProblem(context: SuperviseContext, spec: ToolSpec, example: ToolExample, output: unknown): string | undefined {
  const shape = z.fromJSONSchema(spec.output_schema).safeParse(output);
  const input = quoted(context, example.input);
  if (!shape.success) return `for ${input} the output does not fit the output schema`;
  if (!spec.deterministic || canonicalJson(output) === canonicalJson(example.output)) return undefined;
  return `for ${input} it returned ${quoted(context, output)}, not ${quoted(context, example.output)}`;
}

/** Whether a tool or workflow may run with nobody there: serve's policy for a run nobody can approve ("ask": denied). */
const unattended = (context: SuperviseContext, entry: McpToolEntry) =>
  httpToolRefusal(context.config.serve, entry.name, entry.kind === "generated" ? "generated" : "workflow", "none") === undefined;

/**
 * (a) Each promoted tool's held-out examples (the last `heldOutExamples` of its spec's, as the toolsmith split them),
 * run again, when serve's policy lets the tool run unattended: a tool set to "ask" or "deny" may touch what a person
 * wants to watch, and its examples run with nobody there too.
 */
async function testPromotedTools(run: IdleRun, access: SandboxAccess): Promise<void> {
  const { context } = run;
  for (const root of roots(context)) {
    const entries = new Map(
      promotedEntries(root, access)
        .filter((entry) => unattended(context, entry))
        .map((entry) => [entry.name, entry]),
    );
    for (const tool of promotedToolsIn(root)) {
      const entry = entries.get(tool.name);
      const { spec, validation } = tool.metadata;
      if (!entry) continue;
      if (await run.mustStop("examples", tool.name)) return;
      const heldOut = spec.examples.slice(-Math.min(validation.heldOutExamples, spec.examples.length));
      const started = context.now();
      let problem: string | undefined;
      for (const example of heldOut) {
        const result = await run.during(`examples ${tool.name}`, (signal) => entry.run(example.input, signal));
        // Cut short by a person or the time cap: not judged, and no false alarm about the tool.
        if (run.stopped) {
          run.record({ step: "examples", name: tool.name, ok: false, detail: "not judged: idle work stopped while it ran" }, started, {});
          return;
        }
        problem = result.ok ? exampleProblem(context, spec, example, result.output) : `for ${quoted(context, example.input)}: ${result.error}`;
        if (problem !== undefined) break;
      }
      const failed = problem === undefined ? undefined : dataLine(context, `promoted tool ${tool.name} fails a held-out example ${problem}`, 1000);
      // Said on the supervisor's channels once per version of the tool: nobody is in the room to read the log.
      if (failed !== undefined)
        await notify(context, {
          incident: IDLE_AUDIT,
          kind: "idle",
          once: `${tool.name}:${tool.metadata.files["tool.ts"]}`,
          text: `idle work: ${failed}`,
        });
      run.record(
        {
          step: "examples",
          name: tool.name,
          ok: problem === undefined,
          detail:
            problem === undefined
              ? `${heldOut.length} held-out example(s) pass`
              : `a held-out example fails, ${problem}; reported, not rolled back: ` +
                `'org tool show ${tool.name}' shows it, 'org rollback ${tool.name}' takes it out`,
        },
        started,
        { examples: heldOut.length },
      );
    }
  }
}

/** The tools and workflows that may run unattended: serve's policy for a run nobody can approve ("ask": denied). */
function unattendedCatalog(context: SuperviseContext, access: SandboxAccess): McpToolEntry[] {
  const tools = roots(context).flatMap((root) => promotedEntries(root, access));
  const workflows = workflowEntries(context.workspaceDir, [context.repoDir], access);
  return uniqueEntries([...tools, ...workflows]).filter((entry) => unattended(context, entry));
}

/** (b) Each workflow whose last scheduled run failed runs again with the schedule's inputs, once per failure, when it may run unattended. */
async function rerunFailedWorkflows(run: IdleRun, catalog: readonly McpToolEntry[]): Promise<string[]> {
  const { context } = run;
  const failures: string[] = [];
  const states = readScheduleStates(context.workspaceDir);
  for (const [name, entry] of Object.entries(context.config.schedules)) {
    const record = states.schedules[name];
    if (entry.workflow === undefined || record?.ok !== false || record.finishedAt === undefined) continue;
    failures.push(dataLine(context, `scheduled workflow ${entry.workflow} failed: ${record.summary ?? ""}`, 300));
    const key = `idle:rerun:${name}`;
    if (context.state.get(key) === String(record.finishedAt)) continue;
    const workflow = catalog.find((candidate) => candidate.kind === "workflow" && candidate.name === entry.workflow);
    if (!workflow) {
      run.event(`workflow ${entry.workflow} of schedule ${name} is not run again: it may not run unattended (serve.tools, serve.generatedTools)`);
      context.state.set(key, String(record.finishedAt));
      continue;
    }
    if (await run.mustStop("workflows", workflow.name)) return failures;
    const started = context.now();
    const result = await run.during(`workflows ${workflow.name}`, (signal) => workflow.run(entry.inputs ?? {}, signal));
    // A run cut short is tried again by a later round.
    if (!run.stopped) context.state.set(key, String(record.finishedAt));
    const detail = run.stopped
      ? "stopped before it finished; run again by a later round"
      : result.ok
        ? `ran again for schedule ${name}: ${JSON.stringify(result.output) ?? "null"}`
        : `failed again: ${result.error}`;
    run.record({ step: "workflows", name: workflow.name, ok: result.ok && !run.stopped, detail }, started, entry.inputs ?? {});
  }
  return failures;
}

/** The needs grow heard and has not met (newest first), as the question shows them. */
function openNeeds(context: SuperviseContext): string[] {
  try {
    return readGrowState(context.workspaceDir)
      .proposals.filter((proposal) => ["pending", "unconfirmed", "failed"].includes(proposal.state))
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
      .slice(0, 8)
      .map((proposal) => dataLine(context, proposal.goal, 300));
  } catch {
    return [];
  }
}

/** (c) "What next?": asked once per distinct needs and failures, its checked answer run under the unattended policy. */
async function askWhatNext(run: IdleRun, catalog: readonly McpToolEntry[], failures: string[]): Promise<void> {
  const { context, parts } = run;
  if (!parts.model) {
    run.event("what next? skipped: no model is configured for the supervisor");
    return;
  }
  if (context.state.openIncidents("model-server").some((incident) => incident.key === parts.model?.server)) {
    run.event("what next? skipped: the model's server is unreachable (an open model-server incident)");
    return;
  }
  if (catalog.length === 0) {
    run.event("what next? skipped: no promoted tool or workflow may run unattended here (serve.tools, serve.generatedTools)");
    return;
  }
  const perDay = context.config.limits.tokensPerDay;
  const today = perDay === undefined ? 0 : tokensOnDay(join(context.workspaceDir, SESSIONS_DIR), new Date(context.now()));
  if (perDay !== undefined && today >= perDay) {
    run.event(`what next? skipped: today's token budget is spent (${today} of ${perDay}, limits.tokensPerDay)`);
    return;
  }
  const needs = openNeeds(context);
  const open = context.state.openIncidents().map((incident) => dataLine(context, incident.title, 300));
  const data = { needs, failures: [...failures, ...open].slice(0, 12).map((text) => dataLine(context, text, 300)) };
  const key = `idle:asked:${sha256Hex(canonicalJson(data)).slice(0, 16)}`;
  const asked = Number(context.state.get(key) ?? Number.NaN);
  if (Number.isFinite(asked) && context.now() - asked < ASK_AGAIN_MS) {
    run.event(`what next? not asked again: the same needs and failures were asked about at ${new Date(asked).toISOString()}`);
    return;
  }
  if (await run.mustStop("ask", PROPOSE_NEXT)) return;
  const started = context.now();
  const model = parts.model;
  const answer = await run.during(PROPOSE_NEXT, (signal) =>
    proposeNext(model, catalog, data, context, Math.min(parts.settings.maxTokens - run.tokens, (perDay ?? Infinity) - today), signal),
  );
  run.tokens += answer.tokens;
  // Asked once it was answered: a server that was down, or a question a person cut short, is asked again next time.
  if (answer.ok || answer.answered) context.state.set(key, String(started));
  if (!answer.ok) {
    run.record({ step: "ask", name: PROPOSE_NEXT, ok: false, detail: `refused or unanswered: ${answer.problem}` }, started, data);
    return;
  }
  const { proposal } = answer;
  run.record({ step: "ask", name: PROPOSE_NEXT, ok: true, detail: `${answer.model} proposes ${describe(context, proposal)}` }, started, data);
  if (proposal.action === "nothing") return;
  const entry = catalog.find((candidate) => candidate.name === proposal.name);
  if (!entry || (await run.mustStop("ask", proposal.name))) return;
  const ran = context.now();
  const result = await run.during(`proposed ${entry.name}`, (signal) => entry.run(proposal.args, signal));
  const detail = result.ok ? `output ${JSON.stringify(result.output) ?? "null"}` : result.error;
  run.record({ step: "proposed", name: entry.name, ok: result.ok, detail }, ran, proposal.args);
}

const describe = (context: SuperviseContext, proposal: ProposeNext) =>
  proposal.action === "nothing"
    ? `nothing (${proposal.why})`
    : `${proposal.action} ${proposal.name} ${dataLine(context, JSON.stringify(proposal.args), 300)} (${proposal.why})`;

/**
 * One round's idle work, when the room has been idle for `afterMinutes`: (a), (b), (c) in turn, each step and action
 * checked against a person's activity and the bounds first. Never throws for a tool's or a model's failure: the outcome
 * and the events say it.
 */
export async function idleWork(context: SuperviseContext, parts: IdleWorkParts): Promise<IdleOutcome> {
  const since = context.now() - parts.settings.afterMinutes * 60_000;
  const person = personSince(context, since);
  if (person !== undefined)
    return {
      ran: false,
      detail: `a person wrote at ${new Date(person).toISOString()}: idle work waits for ${parts.settings.afterMinutes} quiet minutes`,
      actions: [],
      tokens: 0,
    };
  const run = new IdleRun(context, parts);
  const access = accessOf(context);
  await testPromotedTools(run, access);
  const catalog = unattendedCatalog(context, access);
  const failures = run.stopped ? [] : await rerunFailedWorkflows(run, catalog);
  const failing = run.actions.filter((action) => !action.ok).map((action) => `${action.name}: ${action.detail}`);
  if (!run.stopped) await askWhatNext(run, catalog, [...failing, ...failures]);
  if (run.actions.length > 0 || run.stopped) writeTodaysReport(context);
  const passed = run.actions.filter((action) => action.ok).length;
  return {
    ran: true,
    detail: `${run.actions.length} action(s), ${passed} ok; ${run.tokens} tokens${run.stopped ? `; stopped: ${run.stopped}` : ""}`,
    actions: run.actions,
    tokens: run.tokens,
    ...(run.stopped ? { stopped: run.stopped } : {}),
  };
}
