import { resolve } from "node:path";
import { CHECKOUT_DIR } from "../../config/workspace-paths.ts";
import { listCandidates as candidateRows, pruneCandidateBranches as pruneCandidates, rebaseOntoMain } from "../../cycle/candidate-branches.ts";
import { instanceSettings } from "../../config/environment.ts";
import { readHealth } from "../../fitness/instance-health.ts";
import { stopInstances } from "../../instances/side-by-side.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { type Command, UsageError } from "../command/command.ts";
import { nameAndSummary } from "../command/command-summaries.ts";
import { judgeCommands, orgInvocation } from "../command/org-invocation.ts";
import { type FlagValues, parseCommandArgs } from "../command/parse-command-args.ts";
import { terminalSafeJson } from "../../security/terminal-safe-json.ts";
import { RepoGit } from "../../git/repo-git.ts";
import { OrgError } from "../../errors/org-error.ts";

const HELP = `Usage: org candidate list [--json] [--repo DIR]
       org candidate rebase BRANCH [--repo DIR]
       org candidate prune [--dry-run] [--older-than DAYS] [--force] [--repo DIR]

The cand/* branches the toolsmith made, managed rather than hunted.

  list          one row per cand/* branch: its tool(s), when it was built, the model, its state and the path of
                its newest report (signed by this checkout's gate). States: untested (no report yet), pass,
                fail, stale (main moved since it was built or judged; the gate judges it on today's main),
                promoted, rolled-back. --json prints an array of
                {branch, tools, state, commit, builtAt, reportPath} (plus model, verdict, supersededBy, promotion).
  rebase BRANCH a new cand/<UTC time> from today's main with the same tool files as BRANCH (which stays);
                refused when BRANCH touches anything outside tools/generated/. A rolled-back tool comes back
                this way, to be judged and promoted again.
  prune         deletes branches that are promoted, rolled back, failed or superseded (a newer live candidate,
                or main, holds the same tool files), with their worktrees under .org/worktrees/ and their
                reports under .org/fitness/<commit>/. --dry-run lists what would go; --older-than DAYS keeps
                those built more recently. A candidate whose instance is running (its commit answers /health
                on ORG_CANDIDATE_PORT, default 7002) is kept and named; --force stops that instance first.
  --repo DIR    the checkout of main (default: the checkout this org runs from)

A tool's name is taken by main and by live candidates only (untested, pass, stale).

Example:
  org candidate list
  org candidate rebase cand/20261123T101500Z`;

const FLAGS = {
  repo: { type: "string" },
  json: { type: "boolean" },
  "dry-run": { type: "boolean" },
  "older-than": { type: "string" },
  force: { type: "boolean" },
} as const;

function print(line: string): void {
  console.log(sanitizeForTerminal(line));
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

type CandidateValues = FlagValues<typeof FLAGS>;

/** `candidate list`: one row per cand/* branch, or the rows as JSON. */
async function listCandidates(git: RepoGit, json: boolean, signal: AbortSignal): Promise<number> {
  const rows = await candidateRows(git, signal);
  if (json) {
    console.log(terminalSafeJson(rows));
    return 0;
  }
  if (rows.length === 0) {
    print("no cand/* branches; make one with 'org tool new'.");
    return 0;
  }
  const cwd = `${git.repoDir}/`;
  print(
    table([
      ["BRANCH", "TOOLS", "STATE", "BUILT", "MODEL", "REPORT"],
      ...rows.map((row) => [
        row.branch,
        row.tools.join(",") || "-",
        `${row.state}${row.supersededBy ? ` (superseded by ${row.supersededBy})` : ""}`,
        row.builtAt.replace("T", " ").replace(/(:\d\d)([+-]\d\d:\d\d|Z)$/, "$1"),
        row.model ?? "-",
        row.reportPath?.replace(cwd, "") ?? "-",
      ]),
    ]),
  );
  return 0;
}

/** `candidate rebase BRANCH`: a new candidate from today's main with BRANCH's tool files; a branch touching more is refused. */
async function rebaseCandidateBranch(git: RepoGit, branch: string, signal: AbortSignal): Promise<number> {
  const outcome = await rebaseOntoMain(git, branch, signal);
  if (!outcome.ok) throw new OrgError(`refused to rebase ${branch}: ${outcome.refused}`);
  const { rebased } = outcome;
  print(
    `made ${rebased.branch} (${rebased.commit.slice(0, 12)}) from main ${rebased.main.slice(0, 12)} with ` +
      `${rebased.tools.join(", ")} from ${branch} (${rebased.from.slice(0, 12)}); ${branch} is unchanged`,
  );
  print(`next: ${judgeCommands(git.repoDir, rebased.branch)}`);
  return 0;
}

/** `candidate prune`: deletes the branches that are done with (or says what it would delete with --dry-run). */
async function pruneCandidateBranches(git: RepoGit, values: CandidateValues, signal: AbortSignal): Promise<number> {
  let olderThanDays: number | undefined;
  if (values["older-than"] !== undefined) {
    olderThanDays = Number(values["older-than"]);
    if (!Number.isFinite(olderThanDays) || olderThanDays < 0)
      throw new UsageError(`--older-than needs a number of days, got ${values["older-than"]}`, "candidate");
  }
  const dryRun = values["dry-run"] ?? false;
  const age = olderThanDays !== undefined ? { olderThanDays } : {};
  // A candidate instance serving a branch prune would delete runs from its worktree: keep it, or stop it first.
  const running = await runningCandidate(await pruneCandidates(git, { dryRun: true, ...age, signal }));
  const keep = new Set<string>();
  if (running && values.force && !dryRun) {
    const [stopped] = await stopInstances(instanceSettings().tmuxSession, ["candidate"]);
    print(`stopped the candidate instance of ${running.branch} (${stopped?.outcome ?? "absent"}), to prune it`);
  } else if (running) {
    keep.add(running.branch);
    // The instance is stopped by its tmux window, whichever checkout it came from: this org stops it.
    const org = orgInvocation();
    print(
      `kept ${running.branch}: its instance is running on :${running.port}; stop it with ${org} instance stop ` +
        `candidate, or prune with --force (which stops it first)`,
    );
  }
  const pruned = await pruneCandidates(git, { dryRun, ...age, keep, signal });
  for (const entry of pruned) {
    const extras = [entry.worktree ? "its worktree" : "", entry.reports ? "its reports" : ""].filter(Boolean).join(" and ");
    print(
      `${dryRun ? "would remove" : "removed"} ${entry.row.branch} (${
        entry.row.tools.join(", ") || "no " + "tools"
      }): ${entry.why}${extras ? `; with ${extras}` : ""}`,
    );
  }
  print(pruned.length === 0 ? "nothing to prune." : `${dryRun ? "would remove" : "removed"} ${pruned.length} candidate(s).`);
  return 0;
}

/** The candidate prune would remove whose instance answers /health on the candidate port, if any. */
async function runningCandidate(chosen: Awaited<ReturnType<typeof pruneCandidates>>): Promise<{ branch: string; port: number } | undefined> {
  if (chosen.length === 0) return undefined;
  const port = instanceSettings().candidatePort;
  const commit = await readHealth(port, { timeoutMs: 2_000 }).then(
    (health) => health.commit,
    () => undefined,
  );
  const entry = commit === undefined ? undefined : chosen.find((candidate) => candidate.row.commit === commit);
  return entry ? { branch: entry.row.branch, port } : undefined;
}

/** Refuses a flag given to an action it does not go with (--repo goes with all). */
function onlyFlags(values: CandidateValues, action: string, allowed: (keyof typeof FLAGS)[]): void {
  for (const flag of Object.keys(values)) {
    if (flag !== "repo" && !allowed.some((name) => name === flag))
      throw new UsageError(`--${flag} does not go with 'candidate ${action}'`, "candidate");
  }
}

export const candidateCommand: Command = {
  ...nameAndSummary("candidate"),
  help: HELP,
  async run(args, signal) {
    const { values, positionals } = parseCommandArgs("candidate", args, FLAGS, { positionals: true });
    const [action, ...rest] = positionals;
    const git = new RepoGit(resolve(values.repo ?? CHECKOUT_DIR));
    if (action === "list") {
      onlyFlags(values, action, ["json"]);
      if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`, "candidate");
      return listCandidates(git, values.json ?? false, signal);
    }
    if (action === "rebase") {
      onlyFlags(values, action, []);
      const [branch, ...more] = rest;
      if (branch === undefined || more.length > 0)
        throw new UsageError("rebase takes one branch: org candidate rebase cand/YYYYMMDDTHHMMSSZ", "candidate");
      return rebaseCandidateBranch(git, branch, signal);
    }
    if (action === "prune") {
      onlyFlags(values, action, ["dry-run", "older-than", "force"]);
      if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`, "candidate");
      return pruneCandidateBranches(git, values, signal);
    }
    throw new UsageError(
      action === undefined ? "say what to do: list, rebase or prune" : `unknown action '${action}': list, rebase or prune`,
      "candidate",
    );
  },
};
