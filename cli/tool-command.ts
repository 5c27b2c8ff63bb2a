import { existsSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { environmentSettings } from "../config/environment.ts";
import { sandboxAccessFrom } from "../assembly/sandbox-policy-from.ts";
import { GENERATED_TOOLS_DIR, generatedToolPath, TOOL_NAME_PATTERN } from "../config/workspace-paths.ts";
import { type Checkout, openCheckout, requireCheckout } from "../cycle/checkout.ts";
import { isToolRef } from "../cycle/tool-ref.ts";
import { shellWord } from "../security/shell-word.ts";
import { sanitizeForTerminal, oneLine } from "../security/terminal-sanitizer.ts";
import type { CycleOutcome } from "../cycle/promote-candidate.ts";
import type { ToolsmithEvent, ToolsmithOutcome } from "../toolsmith/run-toolsmith.ts";
import type { CatalogEntry } from "../generated-tools/catalog-entry.ts";
import type { LiveCandidateNames } from "../generated-tools/tool-catalog.ts";
import type { ToolMetadata } from "../generated-tools/tool-metadata.ts";
import { type Command, UsageError, UserFacingError } from "./command.ts";
import { nameAndSummary } from "./command-summaries.ts";
import { orgInvocation, REPO_DIR } from "./org-invocation.ts";
import { orgCloneNote } from "./org-clone-note.ts";
import { parseCommandArgs } from "./parse-command-args.ts";
import { runSubcommand } from "./run-subcommand.ts";
import { terminalSafeJson } from "../security/terminal-safe-json.ts";
import { TOOL_SEARCH_HELP, toolSearchCommand } from "./tool-search-command.ts";
import { TOOL_STATS_HELP, toolStatsCommand } from "./tool-stats-command.ts";
import { modelFor } from "../llm/model-for.ts";
import { describeRecordedModel } from "../llm/recorded-model.ts";

const HELP = `Usage:
  org tool new --goal TEXT [--model M] [--base-url URL] [--config FILE] [--json] [--repo DIR] [--promote]
  org tool list [--json] [--repo DIR]
  org tool show NAME [--ref BRANCH] [--repo DIR]
  org tool run NAME --inputs JSON [--ref BRANCH] [--repo DIR]
  org tool search "QUERY" [--limit N] [--json] [--repo DIR]
  org tool stats [NAME] [--json] [--repo DIR]

new   The toolsmith writes a tool for the goal: spec, tool.ts, tests, validation in the sandbox (policy,
      typecheck, tests with coverage, mutants, held-out examples, determinism), repairs, and a new branch
      cand/<UTC timestamp> made from main in a separate worktree. The checkout you run is not touched.
      Progress goes to stderr. With --json the last stdout line is
      {"ok","name","branch","commit","attempts","failure"}. Exit 0 only when a branch was made; then the
      last line is a 'Try it:' command that runs the new tool on its spec's first example, as printed.
      --promote goes on through the whole cycle, each stage the command you would type next, printed as
      it runs: instance start current, instance start candidate BRANCH (tmux), fitness, promote BRANCH;
      then the candidate instance is stopped and the worktree made for it removed. It stops at the first
      stage that fails, says why, and leaves the candidate running to inspect (exit 1); a candidate that
      did not start, or Ctrl-C, leaves neither. With --json the line also has "promoted", "stages"
      ([{stage, ok, command, exitCode, detail, durationMs, reportPath?}]) and, on failure, "stoppedAt".
      Last (on stderr with --json) it says what still runs in tmux (current, serving the tool), at which URL
      and window, and the exact command that stops it.
      Run from a directory outside org's clone, the branch still goes to the clone: a 'note:' line says so.
list  Promoted tools (tools/generated/ of the checkout) and candidates (cand/* branches, read with git).
show  A tool's spec, validation figures, provenance and tool.ts; --ref reads it from a branch. A name that
      is not promoted is looked up on the cand/* branches: each candidate is shown with the --ref to use.
run   Runs a tool once in the sandbox through the fixed runner: input and output checked against the
      spec's schemas, output redacted, printed as JSON. --ref runs a candidate's tool from its branch.
${TOOL_SEARCH_HELP}
${TOOL_STATS_HELP}

Options:
  --goal TEXT      what the tool should do, in words
  --model M        the model (default: OLLAMA_MODEL, else qwen3:8b)
  --base-url URL   an OpenAI-compatible server (default: OLLAMA_BASE, else http://127.0.0.1:11434)
  --config FILE    org.config.json whose "toolsmith" section sets the thresholds and rounds (default:
                   org.config.json in the current directory, else the defaults)
  --ref BRANCH     main or a cand/YYYYMMDDTHHMMSSZ branch
  --inputs JSON    the tool's input, a JSON object
  --repo DIR       the org checkout whose main the branch is made from (default: the one running); in another
                   git repository the branch is made and can be tried, but never judged or promoted (said first)
  --promote        start, judge and promote the new candidate (see new); not with --repo elsewhere

Example:
  org tool new --goal "count the words in a text" --json
  org tool list
  org tool run word_count --inputs '{"text":"one two three"}' --ref cand/20261123T101500Z`;

const say = (text: string) => process.stderr.write(`${sanitizeForTerminal(text)}\n`);

/** One progress line for an event of the pipeline. */
export function describeToolsmithEvent(event: ToolsmithEvent): string {
  const round = (value: number) => (value > 1 ? ` (round ${value})` : "");
  switch (event.type) {
    case "phase-start":
      return `… ${event.phase}${round(event.round)}`;
    case "phase-done":
      return `✓ ${event.phase}${round(event.round)}: ${event.detail}`;
    case "validation-stage":
      return `… validation ${event.index}/${event.total}: ${event.stage}`;
    case "validation-failed":
      return `✗ validation failed at ${event.stage} (back to the ${event.blame}): ${event.message}`;
    case "validation-passed":
      return `✓ validation passed in ${(event.durationMs / 1000).toFixed(1)} s`;
    case "branch-created":
      return `✓ branch ${event.branch} (${event.commit.slice(0, 12)})`;
  }
}

function checkName(name: string | undefined): string {
  if (name === undefined) throw new UsageError("give the tool's name, e.g. tool show word_count", "tool");
  if (!TOOL_NAME_PATTERN.test(name)) throw new UsageError(`'${name}' is not a tool name (snake_case, like word_count)`, "tool");
  return name;
}

function checkRef(ref: string | undefined): string | undefined {
  if (ref !== undefined && !isToolRef(ref)) {
    throw new UsageError(`--ref takes main or a cand/YYYYMMDDTHHMMSSZ branch, not '${ref}'`, "tool");
  }
  return ref;
}

/** The checkout `--repo` names (the one running by default), as a real path. */
function checkoutOf(value: string | undefined): string {
  const directory = value ?? REPO_DIR;
  return requireCheckout(directory, "give --repo the org checkout");
}

function repoOf(value: string | undefined): Checkout {
  return openCheckout(value ?? REPO_DIR, "give --repo the org checkout");
}

async function toolNew(args: string[], signal: AbortSignal): Promise<number> {
  const { values } = parseCommandArgs("tool new", args, {
    goal: { type: "string" },
    model: { type: "string" },
    "base-url": { type: "string" },
    config: { type: "string" },
    json: { type: "boolean" },
    repo: { type: "string" },
    promote: { type: "boolean" },
  });
  if (!values.goal?.trim()) throw new UsageError('tool new needs --goal "what the tool should do"', "tool");
  if (values.promote && values.repo !== undefined && realpathSync(values.repo) !== realpathSync(REPO_DIR)) {
    throw new UsageError(
      `--promote runs the candidate beside this checkout's current instance, so it takes no --repo elsewhere; ` +
        `run ${shellWord(join(values.repo, "bin", "org"))} tool new --promote there`,
      "tool",
    );
  }
  const { loadCommandConfig } = await import("./command-config.ts");
  const config = loadCommandConfig(values.config, process.cwd());
  const { toolsmith: settings, authorizations } = config;
  const environment = environmentSettings();
  const server = values["base-url"] ?? environment.ollamaBase;
  // The key the config gives that server (OPENAI_API_KEY belongs to OLLAMA_BASE's), none to another given with --base-url.
  const model = modelFor({ server, modelId: values.model ?? environment.ollamaModel }, authorizations);
  // Nobody answering is said before anything is made, with the same way out the chat gives.
  const { deadServerMessage } = await import("./model-server-probe.ts");
  const probe = await model.probe(signal);
  if (!probe.reachable) {
    const message = deadServerMessage(server, probe.error, `tool new --goal ${shellWord(values.goal)}`);
    // --json keeps its promise of one last line on stdout.
    if (values.json) console.log(terminalSafeJson({ ok: false, attempts: 0, failure: message.split("\n")[0] }));
    throw new UserFacingError(message);
  }
  const repoDir = repoOf(values.repo).repoDir;
  const missing = (await import("./org-checkout.ts")).missingOrgFiles(repoDir);
  // Said before the build: a candidate outside an org checkout can be tried, never judged or promoted.
  if (missing.length > 0)
    say(
      `note: ${repoDir} is not a checkout of org (it has no ${missing.join(", ")}), so no gate can judge or ` +
        `promote a candidate made there; it can be tried with 'tool run --ref'. Leave out --repo to grow this checkout's tools.`,
    );
  // One sandbox for the command, its policy with the config's secrets: the toolsmith's validation and the gate's runs.
  const access = sandboxAccessFrom({ config });
  const toolsmith = { goal: values.goal, model, repoDir, settings, ...access };
  const showEvent = (event: ToolsmithEvent) => say(describeToolsmithEvent(event));
  let outcome: ToolsmithOutcome;
  let cycle: CycleOutcome | undefined;
  const cycleCli = values.promote ? await import("./tool-cycle.ts") : undefined;
  if (cycleCli) {
    const { buildAndPromote } = await import("../cycle/build-and-promote.ts");
    const show = cycleCli.showCycleProgress();
    ({ built: outcome, cycle } = await buildAndPromote({
      toolsmith,
      ...cycleCli.checkoutCycle(signal, access),
      onProgress: (progress) => (progress.type === "toolsmith" ? showEvent(progress.event) : show(progress)),
      signal,
    }));
  } else {
    const [{ runToolsmith }, { toolsmithRecords }] = await Promise.all([
      import("../toolsmith/run-toolsmith.ts"),
      import("../fitness/toolsmith-records.ts"),
    ]);
    outcome = await runToolsmith({ ...toolsmith, records: toolsmithRecords, signal, onEvent: showEvent });
  }
  return reportToolNew({ json: values.json ?? false, promote: values.promote ?? false, repo: values.repo, repoDir }, outcome, cycle, cycleCli);
}

/**
 * What `tool new` prints at the end and its exit code: the `--json` line, or the line for a person; after a cycle,
 * what it left running in tmux and the command that stops it, last (on stderr under `--json`).
 */
async function reportToolNew(
  asked: { json: boolean; promote: boolean; repo: string | undefined; repoDir: string },
  outcome: ToolsmithOutcome,
  cycle: CycleOutcome | undefined,
  cycleCli: typeof import("./tool-cycle.ts") | undefined,
): Promise<number> {
  const stopped = cycle?.stages.find((stage) => !stage.ok);
  const failure = outcome.ok ? (stopped ? `stopped at ${stopped.stage}: ${stopped.detail}` : undefined) : outcome.failure;
  const ok = outcome.ok && (cycle?.ok ?? true);
  // The cycle started current, and the candidate unless it stopped before: whichever answers still runs.
  const running =
    cycle && cycleCli && (ok || (stopped && stopped.stage !== "build"))
      ? await cycleCli.runningInstancesLine(ok ? ["current"] : ["current", "candidate"], ok && outcome.ok ? `serving ${outcome.name}` : "")
      : undefined;
  // Run from a project, the branch (and a merge) went to org's own clone: said once, before the last line.
  const promoted = ok && cycle !== undefined;
  const note = outcome.ok
    ? orgCloneNote({
        repoDir: asked.repoDir,
        from: process.cwd(),
        went: promoted ? `${outcome.name} (${outcome.branch}, merged into main)` : `${outcome.name}'s branch ${outcome.branch}`,
        onMain: promoted,
      })
    : undefined;
  if (note) say(note);
  if (asked.json) {
    const built = {
      stage: "build",
      ok: outcome.ok,
      detail: outcome.ok ? `${outcome.name} on ${outcome.branch} (${outcome.commit.slice(0, 12)})` : outcome.failure,
    };
    const line = {
      ok,
      ...(outcome.ok || outcome.name ? { name: outcome.name } : {}),
      ...(outcome.ok ? { branch: outcome.branch, commit: outcome.commit } : {}),
      attempts: outcome.attempts,
      ...(failure !== undefined ? { failure } : {}),
      ...(asked.promote
        ? {
            promoted: ok,
            ...(ok ? {} : { stoppedAt: stopped?.stage ?? "build" }),
            stages: [built, ...(cycle && cycleCli ? cycle.stages.map((stage) => cycleCli.stageJson(stage, cycle.branch)) : [])],
          }
        : {}),
    };
    if (running) say(running);
    console.log(terminalSafeJson(line));
  } else if (outcome.ok && cycle?.ok) {
    console.log(`${outcome.name} is promoted: ${outcome.branch} is on main; undo it with ${orgInvocation()} rollback`);
    if (running) console.log(running);
  } else if (outcome.ok && stopped) {
    say(`stopped at ${stopped.stage}: ${stopped.detail}`);
    say(
      `the candidate is left to inspect: ${orgInvocation()} tool show ${outcome.name} --ref ` +
        `${outcome.branch}; ${orgInvocation()} instance status${stopped.reportPath ? `; the report ${stopped.reportPath}` : ""}`,
    );
    if (running) say(running);
  } else if (outcome.ok) {
    const { tryItCommand } = await import("../toolsmith/try-it-command.ts");
    const tryIt = tryItCommand({
      invocation: orgInvocation(),
      name: outcome.name,
      branch: outcome.branch,
      input: outcome.tryInput,
      ...(asked.repo === undefined ? {} : { repo: asked.repoDir }),
    });
    console.log(`${outcome.name} is on ${outcome.branch}. Try it: ${tryIt}`);
  } else {
    say(`the toolsmith could not make the tool: ${outcome.failure}`);
  }
  return ok ? 0 : 1;
}

async function toolList(args: string[], signal: AbortSignal): Promise<number> {
  const { values } = parseCommandArgs("tool list", args, { json: { type: "boolean" }, repo: { type: "string" } });
  const repoDir = checkoutOf(values.repo);
  const { listGeneratedTools } = await import("../generated-tools/tool-listing.ts");
  // The gate's verdicts are read only when there is a candidate to list.
  const liveNames: LiveCandidateNames = async (git, signal) => (await import("../fitness/candidate-states.ts")).liveCandidateToolNames(git, signal);
  const entries: CatalogEntry[] = await listGeneratedTools(repoDir, liveNames, signal);
  if (values.json) {
    console.log(
      terminalSafeJson(
        entries.map((entry) =>
          entry.status === "broken"
            ? { name: entry.name, status: entry.status, problem: entry.problem }
            : {
                name: entry.name,
                status: entry.status,
                ...(entry.status === "candidate" ? { branch: entry.branch } : {}),
                description: entry.metadata.spec.description,
              },
        ),
      ),
    );
    return 0;
  }
  if (entries.length === 0) {
    console.log('no generated tools yet; make one with: org tool new --goal "…"');
    return 0;
  }
  // Each column made one line before it is padded, so the padding stays.
  const names = entries.map((entry) => oneLine(entry.name));
  const width = Math.max(...names.map((name) => name.length));
  for (const [index, entry] of entries.entries()) {
    const where = entry.status === "candidate" ? `candidate ${entry.branch}` : entry.status;
    const about = entry.status === "broken" ? entry.problem : entry.metadata.spec.description;
    console.log(`${(names[index] ?? "").padEnd(width)}  ${oneLine(where).padEnd(30)}  ${oneLine(about)}`);
  }
  return 0;
}

/** The cand/* branches that add a tool of this name (not on main), newest first. */
async function candidateBranchesOf(git: Checkout, name: string, signal: AbortSignal): Promise<string[]> {
  const [{ candidateTools }, { liveCandidateToolNames }] = await Promise.all([
    import("../generated-tools/tool-catalog.ts"),
    import("../fitness/candidate-states.ts"),
  ]);
  return (await candidateTools(git, liveCandidateToolNames, signal))
    .flatMap((entry) => (entry.status === "candidate" && entry.name === name ? [entry.branch] : []))
    .sort()
    .reverse();
}

/** A tool's code from the checkout (promoted) or a branch, with its metadata validated and its files' hashes checked. */
async function loadTool(
  git: Checkout,
  name: string,
  ref: string | undefined,
  signal: AbortSignal,
): Promise<{ code: string; metadata: ToolMetadata }> {
  if (!ref) {
    const { readPromotedTool, verifiedToolCode } = await import("../generated-tools/read-promoted-tool.ts");
    const read = readPromotedTool(git.repoDir, name);
    if (!read.ok) {
      const branches = existsSync(join(git.repoDir, GENERATED_TOOLS_DIR, name)) ? [] : await candidateBranchesOf(git, name, signal);
      if (branches.length > 0)
        throw new UserFacingError(`${name} is not promoted; it is a candidate on ${branches.join(", ")}: add --ref ${branches[0]}`);
      throw new UserFacingError(`${read.problem}; see org tool list`);
    }
    const verified = verifiedToolCode(read.tool);
    if (!verified.ok)
      throw new UserFacingError(
        `${name}: its files do not match the hashes in ${generatedToolPath(name, "metadata.json")}; it was changed after validation and will not run`,
      );
    return { code: verified.code, metadata: read.tool.metadata };
  }
  const { readToolAt } = await import("../generated-tools/tool-catalog.ts");
  const read = await readToolAt(git, ref, name, signal);
  if (!read.ok) throw new UserFacingError(read.problem.startsWith("no tool ") ? `${read.problem}; see org tool list` : read.problem);
  return { code: read.code, metadata: read.metadata };
}

function describeTool(tool: { code: string; metadata: ToolMetadata }): string {
  const { spec, validation, provenance } = tool.metadata;
  return [
    `${spec.name}: ${oneLine(spec.description)}`,
    `input:  ${JSON.stringify(spec.input_schema)}`,
    `output: ${JSON.stringify(spec.output_schema)}`,
    `examples: ${spec.examples.map((example) => `${JSON.stringify(example.input)} → ${JSON.stringify(example.output)}`).join("; ")}`,
    `validation: ${validation.stages.map((stage) => `${stage.stage} ${stage.durationMs} ms`).join(", ")}`,
    `tests ${validation.tests.passed} passed, line coverage ${Math.round(validation.coverage.lines * 100)} %, ` +
      `mutants caught ${validation.mutants.killed}/${validation.mutants.total}, ${validation.heldOutExamples} held-out example(s)`,
    `made by ${[...new Set(provenance.phases.map(describeRecordedModel))].join(", ")} in ` +
      `${provenance.attempts} model calls, ${provenance.repairRounds} repair round(s)`,
    "",
    tool.code,
  ].join("\n");
}

async function toolShow(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseCommandArgs("tool show", args, { ref: { type: "string" }, repo: { type: "string" } }, { positionals: true });
  const name = checkName(positionals[0]);
  const git = repoOf(values.repo);
  const ref = checkRef(values.ref);
  if (ref !== undefined || existsSync(join(git.repoDir, GENERATED_TOOLS_DIR, name))) {
    console.log(sanitizeForTerminal(describeTool(await loadTool(git, name, ref, signal))));
    return 0;
  }
  // Not promoted: the candidates that add it, newest first, each with the --ref that reaches it.
  const branches = await candidateBranchesOf(git, name, signal);
  if (branches.length === 0) throw new UserFacingError(`no tool ${name}: it is not promoted and no cand/* branch has it; see org tool list`);
  const repo = values.repo === undefined ? "" : ` --repo ${shellWord(git.repoDir)}`;
  const shown: string[] = [];
  for (const branch of branches) {
    shown.push(
      `${name} is not promoted; candidate on ${branch} (org tool show ${name} --ref ${branch}${repo}; run it ` +
        `with org tool run ${name} --ref ${branch}${repo} --inputs JSON)`,
      describeTool(await loadTool(git, name, branch, signal)),
      "",
    );
  }
  console.log(sanitizeForTerminal(shown.join("\n").trimEnd()));
  return 0;
}

async function toolRun(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    "tool run",
    args,
    { inputs: { type: "string" }, ref: { type: "string" }, repo: { type: "string" } },
    { positionals: true },
  );
  const name = checkName(positionals[0]);
  if (values.inputs === undefined) throw new UsageError(`tool run needs --inputs '{…}' (a JSON object)`, "tool");
  let input: unknown;
  try {
    input = JSON.parse(values.inputs);
  } catch (error) {
    throw new UsageError(`--inputs is not valid JSON (${error instanceof Error ? error.message : String(error)})`, "tool");
  }
  const git = repoOf(values.repo);
  const ref = checkRef(values.ref);
  const tool = await loadTool(git, name, ref, signal);
  const { runToolCopy } = await import("../generated-tools/promoted-tools.ts");
  // The tool's code as validated, copied into a fresh folder: only tool.ts, read-only inside the sandbox.
  const result = await runToolCopy({ repoDir: git.repoDir, code: tool.code, metadata: tool.metadata, input, signal, ...sandboxAccessFrom() });
  if (!result.ok) {
    say(`org: ${name} failed (${result.reason}): ${result.error}`);
    return 1;
  }
  console.log(terminalSafeJson(result.output));
  return 0;
}

export const toolCommand: Command = {
  ...nameAndSummary("tool"),
  help: HELP,
  run: runSubcommand(
    "tool",
    { new: toolNew, list: toolList, show: toolShow, run: toolRun, search: toolSearchCommand, stats: toolStatsCommand },
    (action) =>
      action === undefined
        ? "tool needs an action: new, list, show, run, search or stats"
        : `unknown tool action '${action}': new, list, show, run, search or stats`,
  ),
};
