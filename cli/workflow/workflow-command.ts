import { loadCommandConfig } from "../command/command-config.ts";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { sandboxAccessFrom } from "../../assembly/sandbox-policy-from.ts";
import type { OrgConfig } from "../../config/org-config.ts";
import { CHECKOUT_DIR, GENERATED_TOOLS_DIR } from "../../config/workspace-paths.ts";
import { shellWord } from "../../security/shell-word.ts";
import { WorkflowError } from "../../workflows/workflow-file.ts";
import { orgInvocation } from "../command/org-invocation.ts";
import { scratchDirFor } from "../../sandbox/scratch-dir.ts";
import type { SandboxAccess } from "../../sandbox/run-sandboxed.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { generatedToolCaller, toolRootsFor } from "../../workflows/generated-tool-caller.ts";
import { loadWorkflowGraph, shownName, type WorkflowGraph } from "../../workflows/load-workflow.ts";
import { runWorkflow, type StepEvent } from "../../workflows/run-workflow.ts";
import { parseInputs, stepLine } from "./workflow-lines.ts";
import { PLAN_HELP, workflowPlan } from "./workflow-plan-command.ts";
import { type Command, UsageError } from "../command/command.ts";
import { nameAndSummary } from "../command/command-summaries.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";
import { runSubcommand } from "../command/run-subcommand.ts";
import { isMainOrCandidate } from "../../git/ref-names.ts";
import type { McpHub } from "../../mcp-client/mcp-hub.ts";
import { orgVersion } from "../../config/version.ts";
import { withMcpSteps } from "../../workflows/mcp-steps.ts";
import { terminalSafeJson } from "../../security/terminal-safe-json.ts";
import { counted } from "../../config/counted.ts";

const HELP = `Usage:
  org workflow run FILE [--inputs JSON] [--json] [--workspace DIR] [--ref BRANCH [--repo DIR]]
  org workflow run --plan ID [--inputs JSON] [--json] [--workspace DIR]
  org workflow check FILE [--workspace DIR] [--ref BRANCH [--repo DIR]]
${PLAN_HELP}

run    Checks the workflow FILE (and the workflows it nests), then runs its steps in order, every tool call
       in the sandbox through the same runner as 'tool run'. Prints each step as it finishes on stderr and
       the workflow's output as JSON on stdout; with --json, only the output, as one JSON line.
       With --plan ID, runs a plan 'workflow plan' kept in .org/plans/ (its nested workflows from workflows/,
       its candidates' tools from the branches it was planned over).
check  Checks FILE without running anything: the schema, every reference, the tools it names, nested
       workflows and cycles. Exit status 0 when it can run, 1 with the step and key that is wrong.

One run makes at most limits.workflowStepRuns step runs (org.config.json of the workspace; default 10 000;
nested workflows' steps count each time they run, foreach items once each): check and run refuse a
workflow certain to make more, and a run that reaches it stops with an error.

Options:
  --inputs JSON    the workflow's inputs, a JSON object (default {}); checked against its "inputs" schema
  --json           print only the output, as one JSON line
  --workspace DIR  the workspace (default: the current directory); tools come from its tools/generated/,
                   then from org's own checkout's
  --ref BRANCH     a cand/YYYYMMDDTHHMMSSZ branch (or main): the tools on that branch come first, read
                   through git and checked against their metadata, so a candidate's tools can be tried in
                   a workflow before they are promoted
  --repo DIR       the org checkout that has the branch (default: the one running)

A workflow file:
  { "name": "count words per line",
    "inputs": { "type": "object", "properties": { "text": { "type": "string" } }, "required": ["text"] },
    "steps": [
      { "id": "split", "tool": "split_lines", "inputs": { "text": "$inputs.text" } },
      { "id": "count", "tool": "word_count", "foreach": "$steps.split.output.lines", "inputs": { "text": "$item" } } ],
    "output": { "per_line": "$steps.count.output" } }

Example:
  org workflow run count.json --inputs '{"text":"one two\\nthree"}' --json`;

const FLAGS = {
  inputs: { type: "string" },
  plan: { type: "string" },
  json: { type: "boolean" },
  workspace: { type: "string" },
  ref: { type: "string" },
  repo: { type: "string" },
} as const;

/** The tools of `--ref`'s branch in `--repo` (default: org's checkout), read and checked; undefined without --ref. */
async function branchTools(ref: string | undefined, repo: string | undefined, signal: AbortSignal) {
  if (ref === undefined) {
    if (repo !== undefined) throw new UsageError("--repo goes with --ref BRANCH", "workflow");
    return undefined;
  }
  if (!isMainOrCandidate(ref)) throw new UsageError(`--ref takes main or a cand/YYYYMMDDTHHMMSSZ branch, not '${ref}'`, "workflow");
  const { toolsOnBranch } = await import("../../generated-tools/branch-tools.ts");
  return await toolsOnBranch(resolve(repo ?? CHECKOUT_DIR), ref, `give --repo the org checkout that has ${ref}`, signal);
}

/**
 * A step's tool that is not promoted but is on a candidate branch of org's checkout: the message gets the branch
 * and the same command with `--ref` added, as it can be typed.
 */
async function withCandidateHint(
  error: unknown,
  missing: readonly string[],
  args: readonly string[],
  name: string,
  signal: AbortSignal,
): Promise<unknown> {
  if (!(error instanceof WorkflowError) || missing.length === 0) return error;
  const [{ candidateToolsIn }, { liveCandidateToolNames }] = await Promise.all([
    import("../../generated-tools/branch-tools.ts"),
    import("../../fitness/candidate-states.ts"),
  ]);
  const candidates = await candidateToolsIn(CHECKOUT_DIR, liveCandidateToolNames, signal);
  const hints = missing.flatMap((tool) => {
    const branches = candidates
      .flatMap((entry) => (entry.status === "candidate" && entry.name === tool ? [entry.branch] : []))
      .sort()
      .reverse();
    const newest = branches[0];
    if (newest === undefined) return [];
    const command = [orgInvocation(), ...name.split(" "), ...args.map(shellWord), "--ref", newest].join(" ");
    return [`${tool} is not promoted, but candidate ${branches.join(", ")} has it; try the candidate's tool with:\n  ${command}`];
  });
  return hints.length === 0 ? error : new WorkflowError(`${error.message}\n${hints.join("\n")}`, error.file, error.step, error.key);
}

/**
 * The room's MCP servers for steps that call their tools (`<server>__<tool>`, policy "allow"): each starts at its
 * first call; undefined when the config names none.
 */
async function workflowMcp(config: OrgConfig, workspaceDir: string, access: SandboxAccess): Promise<McpHub | undefined> {
  if (config.mcpServers.length === 0) return undefined;
  // Loaded here: the MCP client is 25 modules that plans and runs without servers never use.
  const { McpHub } = await import("../../mcp-client/mcp-hub.ts");
  return new McpHub({ servers: config.mcpServers, settings: config.mcp, workspaceDir, ...access, version: orgVersion() });
}

async function run(args: string[], signal: AbortSignal, checkOnly: boolean): Promise<number> {
  const name = checkOnly ? "workflow check" : "workflow run";
  const { values, positionals } = parseCommandArgs(name, args, checkOnly ? { workspace: FLAGS.workspace, ref: FLAGS.ref, repo: FLAGS.repo } : FLAGS, {
    positionals: true,
  });
  const [file] = positionals;
  if (!checkOnly && "plan" in values && values.plan !== undefined) {
    if (positionals.length > 0 || values.ref !== undefined)
      throw new UsageError("--plan ID runs a kept plan: give no FILE and no --ref with it", "workflow");
    return runKeptPlan(
      values.plan,
      parseInputs("inputs" in values ? values.inputs : undefined),
      resolve(values.workspace ?? process.cwd()),
      "json" in values && values.json === true,
      signal,
    );
  }
  if (positionals.length !== 1 || file === undefined) throw new UsageError(`${name} takes one workflow FILE, e.g. ${name} count.json`, "workflow");
  const workspaceDir = resolve(values.workspace ?? process.cwd());
  // Inputs that are not JSON are said first: a workflow's own problems are another matter.
  const inputs = parseInputs("inputs" in values ? values.inputs : undefined);
  const branch = await branchTools(values.ref, values.repo, signal);
  const roots = toolRootsFor(workspaceDir);
  const config = loadCommandConfig(undefined, workspaceDir);
  // One sandbox and policy for the whole workflow, its generated tools' steps and its MCP servers', as the room has.
  const access = sandboxAccessFrom({ config });
  const mcp = await workflowMcp(config, workspaceDir, access);
  try {
    return await checkAndRun(
      { args, name, file, inputs, branch, roots, mcp, checkOnly, json: "json" in values && values.json === true, workspaceDir, config, access },
      signal,
    );
  } finally {
    await mcp?.close();
  }
}

/** The workflow checked (its tools: generated ones, and the MCP servers'), then run unless `checkOnly`. */
async function checkAndRun(
  what: {
    args: string[];
    name: string;
    file: string;
    inputs: unknown;
    branch: Awaited<ReturnType<typeof branchTools>>;
    roots: string[];
    mcp: McpHub | undefined;
    checkOnly: boolean;
    json: boolean;
    workspaceDir: string;
    config: OrgConfig;
    access: SandboxAccess;
  },
  signal: AbortSignal,
): Promise<number> {
  const { args, name, file, inputs, branch, roots, checkOnly, workspaceDir } = what;
  const generated = generatedToolCaller({ roots, scratchDir: scratchDirFor({ workspaceDir }), ...(branch ? { branch } : {}), ...what.access });
  const tools = withMcpSteps(generated, what.mcp);
  // limits.workflowStepRuns of the workspace's org.config.json (default 10 000).
  const maxStepRuns = what.config.limits.workflowStepRuns;
  // The tools no root has at all: without --ref, a candidate branch may have them.
  const missing: string[] = [];
  const checkTool = (tool: string) => {
    const problem = tools.checkTool(tool);
    if (problem !== undefined && !branch && !roots.some((root) => existsSync(join(root, GENERATED_TOOLS_DIR, tool)))) missing.push(tool);
    return problem;
  };
  let graph: WorkflowGraph;
  try {
    graph = loadWorkflowGraph(resolve(file), { checkTool, maxStepRuns });
  } catch (error) {
    throw await withCandidateHint(error, missing, args, name, signal);
  }
  if (checkOnly) {
    const steps = [...graph.workflows.values()].flatMap((workflow) => workflow.steps);
    const toolNames = [...new Set(steps.flatMap((step) => (step.tool ? [step.tool] : [])))].sort();
    const nested = [...graph.workflows.keys()].filter((path) => path !== graph.root).map(shownName);
    console.log(
      `ok: ${sanitizeForTerminal(shownName(graph.root))} can run — ` +
        `${counted(graph.workflows.get(graph.root)?.steps.length ?? 0, "step")}; tools: ${toolNames.join(", ") || "none"}; ` +
        `nested workflows: ${nested.map(sanitizeForTerminal).join(", ") || "none"}`,
    );
    return 0;
  }
  const { json } = what;
  const output = await runWorkflow(graph, inputs, {
    callTool: tools.callTool,
    signal,
    maxStepRuns,
    ...(json ? {} : { onStep: (event: StepEvent) => process.stderr.write(`${stepLine(event)}\n`) }),
  });
  console.log(json ? terminalSafeJson(output) : sanitizeForTerminal(JSON.stringify(output, null, 2) ?? "null"));
  return 0;
}

/** `workflow run --plan ID`: a kept plan, run as `workflow run` runs a file. */
async function runKeptPlan(id: string, inputs: unknown, workspaceDir: string, json: boolean, signal: AbortSignal): Promise<number> {
  const [{ PLAN_ID_PATTERN, readPlanRecord }, { planRunner }] = await Promise.all([
    import("../../planner/plan-store.ts"),
    import("../../planner/planner-ports.ts"),
  ]);
  if (!PLAN_ID_PATTERN.test(id))
    throw new UsageError(`--plan takes a plan's id (such as 20261126T101500Z-k3x9, which workflow plan prints), not '${id}'`, "workflow");
  const record = readPlanRecord(workspaceDir, id);
  const config = loadCommandConfig(undefined, workspaceDir);
  const runner = await planRunner({ workspaceDir, repoDir: record.repoDir, config, ...sandboxAccessFrom({ config }), refs: record.refs }, signal);
  const { output } = await runner.run(record, inputs, {
    signal,
    ...(json ? {} : { onStep: (event: StepEvent) => process.stderr.write(`${stepLine(event)}\n`) }),
  });
  console.log(json ? terminalSafeJson(output) : sanitizeForTerminal(JSON.stringify(output, null, 2) ?? "null"));
  return 0;
}

export const workflowCommand: Command = {
  ...nameAndSummary("workflow"),
  help: HELP,
  run: runSubcommand(
    "workflow",
    { run: (args, signal) => run(args, signal, false), check: (args, signal) => run(args, signal, true), plan: workflowPlan },
    (subcommand) => `workflow needs 'run', 'check' or 'plan', got ${subcommand ?? "nothing"}`,
  ),
};
