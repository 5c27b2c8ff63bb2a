import { loadCommandConfig } from "../command/command-config.ts";
import { describeFailure } from "../command/report-failure.ts";
import { isAbsolute, relative } from "node:path";
import { instanceSettings } from "../../config/environment.ts";
import { formatDuration } from "../../config/duration.ts";
import { CHECKOUT_DIR } from "../../config/workspace-paths.ts";
import { sanitizeForTerminal, oneLine } from "../../security/terminal-sanitizer.ts";
import { terminalSafeJson } from "../../security/terminal-safe-json.ts";
import { type Command, UsageError } from "../command/command.ts";
import { nameAndSummary } from "../command/command-summaries.ts";
import { currentInstance } from "../../cycle/current-instance.ts";
import { growProgressLine } from "./grow-lines.ts";
import { growAccept, growReject, growShow } from "./grow-proposal-commands.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";
import { alignColumns } from "../terminal/align-columns.ts";
import { orgCloneNote } from "../command/org-clone-note.ts";
import type { GrowReport } from "../../grow/grow-report.ts";
import { prepareWorkspace } from "../command/workspace-dir.ts";
import { Sandbox } from "../../sandbox/run-sandboxed.ts";
import { RepoGit } from "../../git/repo-git.ts";

const HELP = `Usage:
  org grow [--once] [--budget-minutes N] [--max-tools N] [--dry-run] [--json] [--workspace DIR] [--repo DIR] [--config FILE] [--no-restart]
  org grow proposals [--json] [--workspace DIR]
  org grow show ID [--json] [--workspace DIR]
  org grow accept ID [--workspace DIR]
  org grow reject ID [--workspace DIR]
  org grow status [--json] [--workspace DIR]

org notices what its rooms could not do and grows tools for it, within a budget, keeping only what earns its place.
Each run:
  1. reads what happened in the workspace since the last run (.org/sessions/*.jsonl, the audit log, serve's jobs),
     only what org wrote on this machine: a line or result without a seal of your org's key (a clone's, a backup's
     taken by another key, an older org's, or moved or edited) is no one's words, and the report names its files.
     The model (grow.model, else the toolsmith's) hears the turns in batches, offered one tool, report_needs: a
     need is kept only when its quote is found word for word in one turn, whose words it is (user, persona, or
     tool: a tool's output or a fetched page) being its source, and no weightier than its goal's words (a goal the
     person did not say is the listener's or the page's). What org's own settings stopped (a read-only view, a
     declined approval) is no need. Calls of tools that do not exist, generated tools
     and workflow steps that failed, commands missing in the sandbox and /wish TEXT are facts, read by rules; with
     no model answering, word rules hear what was said, and the run says noticing was degraded. Needs that mean
     the same thing become one proposal (.org/grow/proposals.json): alike words, embeddings when an embedding
     server answers, the model asked (same_need) when two are close but not certain, its answer remembered for
     later runs. One a promoted tool, or a
     candidate waiting for org promote, already answers is covered by it; with a share remote set, so is one a
     teammate's offer that your last 'org share pull' verified answers (grow says what to run to take it, and
     fetches nothing). A proposal no person asked for (only
     a persona's or a tool's words) is unconfirmed: never built until it is seen in grow.confirmSessions (2)
     sessions or a person runs org grow accept ID.
  2. judges the promoted tools by their calls (grow.window, grow.maxFailureRate): at most one is rolled back
     (org rollback TOOL's journaled change, tagged rollback/<time>), and a proposal is filed to rebuild it from
     the inputs it failed on. Tools unused for grow.pruneUnusedDays are proposed for removal (removed only with
     grow.autoPromote).
  3. builds the most-needed pending proposals (most sessions, then most recent), each by the toolsmith on a
     candidate branch of its own, judged by the fitness gate against current (both served inside this process).
     With "grow": {"autoPromote": true} in org.config.json a pass is promoted before the next is built, so each is
     judged on the main the one before left; without it a pass waits for 'org promote BRANCH', and the report
     says so. A proposal whose tool's name a candidate or main holds is covered by it, never built.
  The budget bounds the whole run: wall time (the model's calls, the toolsmith and the gate get what is left as
  their deadline; no build starts with less than 30 s left), model tokens (grow.maxTokens, counted as they
  stream) and tools. A build the budget cuts leaves no candidate and promotes nothing; the report says which
  budget stopped what.
  Each run writes .org/grow/<UTC time>.json and prints what it did and a summary line. One run at a time per
  workspace (.org/grow/grow.lock; a run killed with kill -9 leaves a lock the next takes over).
  Without --once it runs again every grow.every (default 1h) until stopped (ops/grow.sh runs it in tmux).
  Run from a project with the default --repo, the branches, merges and rollbacks go to org's own clone: a run that
  made any ends with a 'note:' line naming them, since a later 'git pull' of org there will need a merge.

Options:
  --once               one run, then exit
  --budget-minutes N   wall time for a run (default grow.budgetMinutes, 30)
  --max-tools N        tools a run may build (default grow.maxTools, 3); 0 builds none
  --dry-run            notice and keep what was noticed (the proposals and the cursor), then print every
                       proposal with its evidence, source and count, and what a run would build and roll
                       back, and why; nothing changes in git
  --json               print each run's report as one JSON line on stdout (progress stays on stderr)
  --workspace DIR      whose sessions are read and where .org/grow/ is kept (default: current directory)
  --repo DIR           the repository whose main grows (default: the checkout org runs from)
  --config FILE        room configuration with the "grow" settings (default: org.config.json in the workspace)
  --no-restart         do not restart current (ops/start-current.sh) after a promotion or rollback

proposals   every proposal, most needed first: id, state (pending, unconfirmed, covered, building, built, failed,
            promoted, rejected), how often and in how many sessions it was seen, when last, and its goal; --json
            gives them whole, with their evidence ({session, turn, quote, source}).
show ID     one proposal whole: goal, counts, sources, why a run builds it or not, every piece of evidence.
accept ID   build it though no person asked for it (unconfirmed), or again (rejected, failed).
reject ID   never build that proposal (new evidence still counts).
status      the last run, whether one runs now, proposals by state, candidates waiting for org promote.

Examples:
  org grow --once --max-tools 2
  org grow --once --dry-run
  org grow proposals
  org grow show p3f9a2c1b04e
  org grow accept p3f9a2c1b04e
  org grow reject p3f9a2c1b04e

Exit status: 0 the run went through (builds that failed are part of it); 1 it could not run (another run holds the
lock, a damaged state file, …); 2 wrong command line.`;

const SUBCOMMANDS = new Set(["proposals", "show", "accept", "reject", "status"]);

/** A path as the user may type it from here: relative when it is under the current directory. */
function shownPath(path: string): string {
  const shown = relative(process.cwd(), path);
  return shown === "" || shown.startsWith("..") || isAbsolute(shown) ? path : shown;
}
const say = (text: string) => process.stderr.write(`${sanitizeForTerminal(text)}\n`);

function workspaceOf(value: string | undefined): string {
  return prepareWorkspace(value ?? process.cwd());
}

function repoOf(value: string | undefined): string {
  const directory = value ?? CHECKOUT_DIR;
  return RepoGit.openCheckout(directory, "give --repo the repository whose main should grow").repoDir;
}

/** Run from a project, what a run made went to org's own clone (branches, merges, a rollback): one line naming it. */
function cloneNote(report: GrowReport, workspaceDir: string): string | undefined {
  const made = report.builds.flatMap((build) =>
    build.branch ? [`${build.tool ?? build.proposal} (${build.branch}${build.promotion ? ", merged into main" : ""})`] : [],
  );
  const rolledBack = report.rollback?.ok && report.rollback.tag ? [`the rollback of ${report.rollback.tool} (${report.rollback.tag})`] : [];
  const removed = report.removals.flatMap((removal) => (removal.removed ? [`the removal of ${removal.tool}`] : []));
  const went = [...made, ...rolledBack, ...removed];
  if (report.dryRun || went.length === 0) return undefined;
  const onMain = report.builds.some((build) => build.promotion) || rolledBack.length > 0 || removed.length > 0;
  return orgCloneNote({ repoDir: report.repo, from: workspaceDir, went: went.join(", "), onMain });
}

function count(value: string | undefined, flag: string, max: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(number) || number > max)
    throw new UsageError(`${flag} needs a number from 0 to ${max}, got '${value}'`, "grow");
  return number;
}

async function run(args: string[], signal: AbortSignal): Promise<number> {
  const { values } = parseCommandArgs("grow", args, {
    once: { type: "boolean" },
    "budget-minutes": { type: "string" },
    "max-tools": { type: "string" },
    "dry-run": { type: "boolean" },
    json: { type: "boolean" },
    workspace: { type: "string" },
    repo: { type: "string" },
    config: { type: "string" },
    "no-restart": { type: "boolean" },
  });
  const budgetMinutes = count(values["budget-minutes"], "--budget-minutes", 24 * 60);
  if (budgetMinutes === 0) throw new UsageError("--budget-minutes needs more than 0 minutes", "grow");
  const maxTools = count(values["max-tools"], "--max-tools", 100);
  if (maxTools !== undefined && !Number.isInteger(maxTools))
    throw new UsageError(`--max-tools needs a whole number, got '${values["max-tools"]}'`, "grow");
  const workspaceDir = workspaceOf(values.workspace);
  const config = loadCommandConfig(values.config, workspaceDir);
  const repoDir = repoOf(values.repo);
  const dryRun = values["dry-run"] ?? false;
  const { growRequest } = await import("../../grow/grow-request.ts");
  const { runGrow } = await import("../../grow/run-grow.ts");
  const { reportLines } = await import("../../grow/grow-report.ts");
  // One sandbox for every run of this process; each run's policy follows its config.
  const sandbox = new Sandbox();
  const current =
    values["no-restart"] || dryRun
      ? undefined
      : currentInstance(repoDir, instanceSettings().currentPort, instanceSettings().startTimeoutS * 1000, say);
  const once = async () => {
    const outcome = await runGrow(
      growRequest({
        sandbox,
        workspaceDir,
        repoDir,
        config: loadCommandConfig(values.config, workspaceDir, undefined, { announce: false }),
        dryRun,
        ...(maxTools !== undefined ? { maxTools } : {}),
        ...(budgetMinutes !== undefined ? { budgetMinutes } : {}),
        ...(current ? { current } : {}),
        command: `org grow${values.once ? " --once" : ""} (pid ${process.pid})`,
        onProgress: (progress) => {
          const line = growProgressLine(progress);
          if (line !== undefined) say(line);
        },
        signal,
      }),
    );
    if (values.json) console.log(terminalSafeJson(outcome.report));
    else for (const line of reportLines(outcome.report)) console.log(sanitizeForTerminal(line));
    if (outcome.path && !values.json) say(`report: ${shownPath(outcome.path)}`);
    const note = cloneNote(outcome.report, workspaceDir);
    if (note) say(note);
    return outcome;
  };
  if (values.once || dryRun) {
    await once();
    return 0;
  }
  const [{ growEvery }, { growPause }] = await Promise.all([import("../../grow/grow-every.ts"), import("../../grow/grow-pause.ts")]);
  say(`org grow: a run now, then every ${formatDuration(config.grow.every)} (grow.every) until stopped`);
  await growEvery({
    everyMs: config.grow.every,
    run: once,
    say: (line) => say(`org grow: ${line}`),
    describe: describeFailure,
    paused: () => growPause(workspaceDir),
    signal,
  });
  return 0;
}

async function proposals(args: string[]): Promise<number> {
  const { values } = parseCommandArgs("grow proposals", args, { json: { type: "boolean" }, workspace: { type: "string" } });
  const { readGrowState } = await import("../../grow/grow-state.ts");
  const { byNeed } = await import("../../grow/merge-needs.ts");
  const list = [...readGrowState(workspaceOf(values.workspace)).proposals].sort(byNeed);
  if (values.json) {
    console.log(terminalSafeJson(list));
    return 0;
  }
  if (list.length === 0) {
    console.log("no proposals yet: org grow --once reads the sessions and files what they could not do");
    return 0;
  }
  const rows = [["id", "state", "seen", "sessions", "last seen", "goal"]];
  for (const proposal of list) {
    const about = proposal.offer
      ? ` (covered by ${proposal.offer.signer}'s offer ${proposal.offer.id} of ${proposal.offer.tool}: ${proposal.offer.run})`
      : proposal.coveredBy
        ? ` (covered by ${proposal.coveredBy}${proposal.candidate ? ` on ${proposal.candidate}: org promote ${proposal.candidate}` : ""})`
        : proposal.state === "built" && proposal.branch
          ? ` (org promote ${proposal.branch})`
          : proposal.state === "promoted" && proposal.tool
            ? ` (${proposal.tool}, ${proposal.promotion ?? "on main"})`
            : proposal.kind !== "build" && proposal.tool
              ? ` (${proposal.kind} ${proposal.tool})`
              : "";
    rows.push([
      proposal.id,
      proposal.state,
      `${proposal.count}×`,
      String(proposal.sessions),
      proposal.lastSeen.slice(0, 19),
      oneLine(`${proposal.goal}${about}`, 120),
    ]);
  }
  for (const line of alignColumns(rows)) console.log(line);
  return 0;
}

async function status(args: string[]): Promise<number> {
  const { values } = parseCommandArgs("grow status", args, { json: { type: "boolean" }, workspace: { type: "string" } });
  const workspaceDir = workspaceOf(values.workspace);
  const config = loadCommandConfig(undefined, workspaceDir);
  const { growStatus, statusLines } = await import("../../grow/grow-status.ts");
  const found = growStatus(workspaceDir, config.grow);
  if (values.json) console.log(terminalSafeJson(found));
  else for (const line of statusLines(found, shownPath)) console.log(sanitizeForTerminal(line));
  return 0;
}

/** `org grow`: notice, build within a budget, judge, promote, roll back; `proposals`, `reject`, `status`. */
export const growCommand: Command = {
  ...nameAndSummary("grow"),
  help: HELP,
  async run(args, signal) {
    const [first, ...rest] = args;
    if (first !== undefined && SUBCOMMANDS.has(first)) {
      if (first === "proposals") return proposals(rest);
      if (first === "show") return growShow(rest);
      if (first === "accept") return growAccept(rest);
      if (first === "reject") return growReject(rest);
      return status(rest);
    }
    if (first !== undefined && !first.startsWith("-"))
      throw new UsageError(
        `unknown grow subcommand '${first}': give proposals, show ID, accept ID, reject ID or status, or options for a run`,
        "grow",
      );
    return run(args, signal);
  },
};
