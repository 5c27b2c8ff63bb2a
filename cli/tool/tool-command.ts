import type { ToolOrigin } from "../../share/tool-origin.ts";
import { TOOL_NAME_PATTERN } from "../../config/workspace-paths.ts";
import { isMainOrCandidate } from "../../git/ref-names.ts";
import type { CatalogEntry } from "../../generated-tools/catalog-entry.ts";
import type { LiveCandidateNames } from "../../generated-tools/tool-catalog.ts";
import type { ToolMetadata } from "../../generated-tools/tool-metadata.ts";
import type { RecordedModel } from "../../llm/recorded-model.ts";
import { shellWord } from "../../security/shell-word.ts";
import { terminalSafeJson } from "../../security/terminal-safe-json.ts";
import { oneLine, sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { type Command, UsageError } from "../command/command.ts";
import { nameAndSummary } from "../command/command-summaries.ts";
import { REPO_DIR } from "../command/org-invocation.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";
import { runSubcommand } from "../command/run-subcommand.ts";
import { TOOL_NEW_HELP, TOOL_SEARCH_HELP, TOOL_STATS_HELP } from "./tool-help.ts";
import { RepoGit } from "../../git/repo-git.ts";
import { OrgError } from "../../errors/org-error.ts";

const HELP = `Usage:
  org tool new --goal TEXT [--model M] [--base-url URL] [--config FILE] [--json] [--repo DIR] [--promote]
  org tool list [--json] [--repo DIR]
  org tool show NAME [--ref BRANCH] [--repo DIR]
  org tool run NAME --inputs JSON [--ref BRANCH] [--repo DIR]
  org tool search "QUERY" [--limit N] [--json] [--repo DIR]
  org tool stats [NAME] [--json] [--repo DIR]

${TOOL_NEW_HELP}
list  Promoted tools (tools/generated/ of the checkout) and candidates (cand/* branches, read with git).
show  A tool's spec, validation figures, provenance and tool.ts; --ref reads it from a branch. A name that
      is not promoted is looked up on the cand/* branches: each candidate is shown with the --ref to use.
      A tool landed from a teammate's offer names the offer and its signer (docs/share.md).
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

function checkName(name: string | undefined): string {
  if (name === undefined) throw new UsageError("give the tool's name, e.g. tool show word_count", "tool");
  if (!TOOL_NAME_PATTERN.test(name)) throw new UsageError(`'${name}' is not a tool name (snake_case, like word_count)`, "tool");
  return name;
}

function checkRef(ref: string | undefined): string | undefined {
  if (ref !== undefined && !isMainOrCandidate(ref)) {
    throw new UsageError(`--ref takes main or a cand/YYYYMMDDTHHMMSSZ branch, not '${ref}'`, "tool");
  }
  return ref;
}

/** Which candidates are live is the gate's verdict, read (and its code loaded) only when a command reads the candidates. */
const liveNames: LiveCandidateNames = async (git, signal) => (await import("../../fitness/candidate-states.ts")).liveCandidateToolNames(git, signal);

/** The repository of the checkout `--repo` names (the one running by default); a folder that is none is refused. */
function repoOf(value: string | undefined): RepoGit {
  return RepoGit.openCheckout(value ?? REPO_DIR, "give --repo the org checkout");
}

async function toolList(args: string[], signal: AbortSignal): Promise<number> {
  const { values } = parseCommandArgs("tool list", args, { json: { type: "boolean" }, repo: { type: "string" } });
  const repoDir = repoOf(values.repo).repoDir;
  const { listGeneratedTools } = await import("../../generated-tools/tool-listing.ts");
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

function describeTool(tool: { code: string; metadata: ToolMetadata }, describeModel: (model: RecordedModel) => string, origin?: ToolOrigin): string {
  const { spec, validation, provenance } = tool.metadata;
  return [
    `${spec.name}: ${oneLine(spec.description)}`,
    `input:  ${JSON.stringify(spec.input_schema)}`,
    `output: ${JSON.stringify(spec.output_schema)}`,
    `examples: ${spec.examples.map((example) => `${JSON.stringify(example.input)} → ${JSON.stringify(example.output)}`).join("; ")}`,
    `validation: ${validation.stages.map((stage) => `${stage.stage} ${stage.durationMs} ms`).join(", ")}`,
    `tests ${validation.tests.passed} passed, line coverage ${Math.round(validation.coverage.lines * 100)} %, ` +
      `mutants caught ${validation.mutants.killed}/${validation.mutants.total}, ${validation.heldOutExamples} held-out example(s)`,
    `made by ${[...new Set(provenance.phases.map(describeModel))].join(", ")} in ` +
      `${provenance.attempts} model calls, ${provenance.repairRounds} repair round(s)`,
    ...(origin ? [`offered by ${origin.signer} (${origin.fingerprint}), offer ${origin.offer}; judged by this machine's gate (org share list)`] : []),
    "",
    tool.code,
  ].join("\n");
}

async function toolShow(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseCommandArgs("tool show", args, { ref: { type: "string" }, repo: { type: "string" } }, { positionals: true });
  const name = checkName(positionals[0]);
  const git = repoOf(values.repo);
  const ref = checkRef(values.ref);
  const { toolVersions } = await import("../../generated-tools/tool-lookup.ts");
  const { describeRecordedModel } = await import("../../llm/recorded-model.ts");
  const found = await toolVersions(git, name, ref, liveNames, signal);
  if (!found.ok) throw new OrgError(found.problem);
  const [only] = found.versions;
  const { candidateOrigin, toolOrigin } = await import("../../share/tool-origin.ts");
  if (only && only.candidate === undefined) {
    const origin = ref === undefined || ref === "main" ? await toolOrigin(git, name, signal) : await candidateOrigin(git, ref, signal);
    console.log(sanitizeForTerminal(describeTool(only, describeRecordedModel, origin)));
    return 0;
  }
  // Not promoted: the candidates that add it, newest first, each with the --ref that reaches it.
  const repo = values.repo === undefined ? "" : ` --repo ${shellWord(git.repoDir)}`;
  const shown: string[] = [];
  for (const { candidate: branch, ...tool } of found.versions) {
    shown.push(
      `${name} is not promoted; candidate on ${branch} (org tool show ${name} --ref ${branch}${repo}; run it ` +
        `with org tool run ${name} --ref ${branch}${repo} --inputs JSON)`,
      describeTool(tool, describeRecordedModel, branch ? await candidateOrigin(git, branch, signal) : undefined),
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
  const { lookUpTool } = await import("../../generated-tools/tool-lookup.ts");
  const tool = await lookUpTool(git, name, ref, liveNames, signal);
  if (!tool.ok) throw new OrgError(tool.problem);
  const { runToolCopy } = await import("../../generated-tools/promoted-tools.ts");
  // The tool's code as validated, copied into a fresh folder: only tool.ts, read-only inside the sandbox.
  const result = await runToolCopy({
    repoDir: git.repoDir,
    code: tool.code,
    metadata: tool.metadata,
    input,
    signal,
    ...(await import("../../assembly/sandbox-policy-from.ts")).sandboxAccessFrom(),
  });
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
    {
      // Each loads its code only when it runs: `tool list` and `tool show` need none of the toolsmith's or the registry's.
      new: async (args, signal) => (await import("./tool-new-command.ts")).toolNewCommand(args, signal),
      list: toolList,
      show: toolShow,
      run: toolRun,
      search: async (args, signal) => (await import("./tool-search-command.ts")).toolSearchCommand(args, signal),
      stats: async (args) => (await import("./tool-stats-command.ts")).toolStatsCommand(args),
    },
    (action) =>
      action === undefined
        ? "tool needs an action: new, list, show, run, search or stats"
        : `unknown tool action '${action}': new, list, show, run, search or stats`,
  ),
};
