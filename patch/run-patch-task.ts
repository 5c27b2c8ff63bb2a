import { basename } from "node:path";
import { runWithTools, type LoopEvent } from "../tool-loop/run-with-tools.ts";
import type { ChatMessage } from "../llm/chat-types.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import type { AuditSink } from "../security/audit-log.ts";
import { UnsafeWriteError } from "../security/safe-file-write.ts";
import { oneLine } from "../security/terminal-sanitizer.ts";
import { type ProposedChange, toolSet } from "../tools/define-tool.ts";
import { sh } from "../tools/sh.ts";
import { applyChangeSet } from "../workspace/apply-change-set.ts";
import { type ChangeSet, computeChangeSet, type FileChange } from "../workspace/change-set.ts";
import { acceptChange } from "../workspace/accept-change.ts";
import { checkChangeSet, escapeName } from "../workspace/check-change-set.ts";
import { diffStats, unifiedDiff } from "../workspace/unified-diff.ts";
import { commitMessage } from "./commit-message.ts";
import { readContextFiles } from "./context-files.ts";
import { gitApplyCheck } from "../git/git-apply-check.ts";
import { brokenGuarantee, checkableGuarantees } from "./guarantees.ts";
import { outputMatcher } from "./output-paths.ts";
import type { PatchTask } from "./patch-task.ts";
import { patchWorkspace } from "./patch-workspace.ts";

/** The session id the agent's tool calls run under: its copy is `.org/workspaces/patch` of the throw-away workspace. */
const PATCH_SESSION = "patch";

/** What one `org patch` run is given; the agent's commands run in `sandbox` under `sandboxPolicy` (with the write view). */
export type PatchRequest = SandboxAccess & {
  task: PatchTask;
  /** The repository the patch is for; only read. */
  repoDir: string;
  /** Where the task's `context` files are. */
  contextDir: string;
  model: LanguageModel;
  breadcrumb?: string | undefined;
  secrets: readonly string[];
  signal: AbortSignal;
  /** One line of progress for a person (stderr). */
  progress: (line: string) => void;
  /** Where each tool call is recorded, with the breadcrumb. */
  audit: AuditSink;
  /** Rounds in which the model is told what broke the contract and may fix it. Default 2. */
  repairRounds?: number;
  /** Tool rounds of each of the model's turns. Default 16. */
  maxToolRounds?: number;
};

/** How a run ended: a patch, nothing to change, or a result that broke the task's contract after the repairs. */
export type PatchOutcome =
  | { kind: "patch"; commitMessage: string; diff: Buffer; files: FileChange[] }
  | { kind: "nothing" }
  | { kind: "contract-broken"; problems: string[] };

function systemPrompt(task: PatchTask): string {
  const guarantees = task.guarantees.length > 0 ? task.guarantees.map((text) => `- ${text}`).join("\n") : "- (none beyond the outputs)";
  return [
    "You are agent, an engineer making one change to a repository for a script that turns your work into a patch.",
    "The repository is at /workspace, where your commands start; change files there with the sh tool (sed -i, " +
      "a heredoc with cat > FILE, rm, mkdir). Your changes go into a private copy, never into the repository " +
      "itself. There is no network and no git history.",
    `Change only these paths (globs allowed): ${task.outputs.join(", ")}. Any other change is refused.`,
    `The result must keep these guarantees:\n${guarantees}`,
    "When the change is done, answer with its commit message alone: a summary line of at most 72 characters, " +
      "a blank line, then a few lines on why. Do not run more commands after that.",
  ].join("\n\n");
}

function userPrompt(task: PatchTask, context: readonly { path: string; text: string }[]): string {
  const files = context.map(({ path, text }) => `--- context file ${path} ---\n${text}\n--- end of ${path} ---`);
  return [task.prompt, ...files].join("\n\n");
}

/**
 * Everything wrong with the agent's work as a patch for this task: what the workspace's check refuses
 * (protected paths, hostile names, links out, special files, sizes), paths outside the outputs, broken
 * checkable guarantees.
 */
function contractProblems(request: PatchRequest, workDir: string): { problems: string[]; changeSet: ChangeSet } {
  const changeSet = computeChangeSet({ baseDir: request.repoDir, changedDir: workDir });
  const check = checkChangeSet(changeSet, { secretPaths: request.sandboxPolicy.secretPaths, workspaceDir: request.repoDir });
  const isOutput = outputMatcher(request.task.outputs);
  const problems = [
    ...(check.ok ? [] : check.refusals.map(({ path, reason }) => `${path === undefined ? "the change" : escapeName(path)} is refused: ${reason}.`)),
    ...changeSet.changes
      .filter(({ path }) => !isOutput(path))
      .map(
        ({ path, status }) =>
          `${escapeName(path)} was ${status === "mode" ? "changed in mode" : status}, but it is not among the ` +
          `outputs (${request.task.outputs.join(", ")}). ${status === "added" ? "Delete it." : "Put it back exactly as it was."}`,
      ),
  ];
  for (const text of request.task.guarantees) {
    for (const guarantee of checkableGuarantees(text, request.task.outputs)) {
      const broken = brokenGuarantee(workDir, guarantee);
      if (broken) problems.push(broken);
    }
  }
  return { problems, changeSet };
}

/**
 * What becomes of one command's change under the write view: org, not the model, keeps it in the patch's
 * workspace when the workspace's check lets it (no protected path, hostile name, link out, special file or
 * oversized file); a refused change is not kept, and the copy is brought back level before the next command.
 */
function keepChange(workDir: string, proposal: ProposedChange, request: PatchRequest, refusals: Refusals): string {
  const refused = (message: string) => {
    request.progress(`the agent's change was not kept: ${oneLine(message, 600)}`);
    refusals.pending.push(message);
    refusals.any = true;
    return message;
  };
  const accepted = acceptChange(proposal, { secretPaths: request.sandboxPolicy.secretPaths, workspaceDir: workDir });
  if (!accepted.ok) return refused(accepted.message);
  const { changeSet } = accepted;
  try {
    applyChangeSet(workDir, changeSet, { force: true, what: "the change" });
  } catch (error) {
    // A folder that still holds a file the agent never saw (a secret one) is not replaced: nothing of the change is kept.
    if (error instanceof UnsafeWriteError) return refused(`the change was not kept: ${error.message}`);
    throw error;
  }
  // A change kept after a refused one is the agent's answer to it.
  refusals.pending = [];
  const stats = diffStats(changeSet);
  return `kept for the patch: ${stats.files} file${stats.files === 1 ? "" : "s"} (+${stats.added} −${stats.removed})`;
}

/**
 * The changes refused during a turn with no kept change after them (`pending`), and whether any was refused at all:
 * a refused change is a broken contract, told to the model like any other, never "nothing to change".
 */
type Refusals = { pending: string[]; any: boolean };

/**
 * What broke the contract at the end of a turn: `contractProblems`, the changes refused in it and left unanswered, and,
 * when nothing is left to patch after a refusal, that the change is still missing. The turn's refusals are taken.
 */
function turnProblems(request: PatchRequest, workDir: string, refusals: Refusals): { problems: string[]; changeSet: ChangeSet } {
  const { problems, changeSet } = contractProblems(request, workDir);
  const refused = refusals.pending.map((message) => `your command's change was refused, and nothing of it was kept: ${message}`);
  refusals.pending = [];
  if (refused.length === 0 && problems.length === 0 && changeSet.changes.length === 0 && refusals.any)
    refused.push(
      "nothing is left to patch: the change you made was refused (as said above), and no change took its place. Make it within the outputs.",
    );
  return { problems: [...refused, ...problems], changeSet };
}

function describeEvent(event: LoopEvent): string | undefined {
  if (event.type === "tool-call") return `agent calls ${event.call.name} ${oneLine(JSON.stringify(event.call.arguments), 160)}`;
  if (event.type === "tool-result")
    return `${event.call.name} ${event.result.ok ? "ok" : "failed"}${event.result.exitCode != null ? ` (exit ${event.result.exitCode})` : ""}`;
  if (event.type === "loop-stop" || event.type === "calls-refused") return oneLine(event.message, 300);
  if (event.type === "retry") return `model server: retry ${event.attempt} in ${event.delayMs} ms (${oneLine(event.reason, 200)})`;
  return undefined;
}

/**
 * Runs one task: the agent works with `sh` under the write view on a copy of the repository; what it changed
 * becomes a unified diff. A result that breaks the contract (a path outside `outputs`, a link or special file, a broken
 * guarantee, a change refused as it was made) is told to the model, which gets `repairRounds` more turns to fix it. The repository is only read;
 * the diff is checked with `git apply --check` against it. A failing model server throws its ChatError; a
 * sandbox that cannot start here, SandboxUnavailableError.
 */
export async function runPatchTask(request: PatchRequest): Promise<PatchOutcome> {
  const { task, progress } = request;
  const context = readContextFiles(request.contextDir, task.context);
  // Without a sandbox every call would fail and the model would change nothing: that is no "nothing to change".
  if (request.sandboxPolicy.enabled) await request.sandbox.ensureAvailable();
  await using work = patchWorkspace(request.repoDir);
  progress(`copied ${request.repoDir} for the agent (${work.entries} ${work.entries === 1 ? "entry" : "entries"})`);
  const audit: AuditSink = {
    record: (entry) => request.audit.record({ ...entry, ...(request.breadcrumb ? { breadcrumb: request.breadcrumb } : {}) }),
  };
  const refusals: Refusals = { pending: [], any: false };
  const toolContext = {
    workspaceDir: work.dir,
    sessionId: PATCH_SESSION,
    persona: "agent",
    audit,
    secrets: request.secrets,
    // The write view: commands run on a private copy of the patch's workspace at /workspace, where they start.
    sandbox: request.sandbox,
    sandboxPolicy: { ...request.sandboxPolicy, workspace: "write" as const },
    workspaceCopies: work.copies,
    workspaceWrite: async (proposal: ProposedChange) => keepChange(work.dir, proposal, request, refusals),
  };
  const messages: ChatMessage[] = [
    { role: "system", content: systemPrompt(task) },
    { role: "user", content: userPrompt(task, context) },
  ];
  const repairRounds = request.repairRounds ?? 2;
  for (let repair = 0; ; repair += 1) {
    const result = await runWithTools({
      model: request.model,
      messages,
      tools: toolSet([sh]),
      toolContext,
      maxRounds: request.maxToolRounds ?? 16,
      signal: request.signal,
      onEvent: (event) => {
        const line = describeEvent(event);
        if (line) progress(line);
      },
    });
    messages.push(...result.messages);
    const { problems, changeSet } = turnProblems(request, work.dir, refusals);
    if (problems.length === 0) {
      if (changeSet.changes.length === 0) return { kind: "nothing" };
      const diff = Buffer.from(unifiedDiff(changeSet));
      const applies = await gitApplyCheck(request.repoDir, diff, request.signal);
      if (applies !== undefined) return { kind: "contract-broken", problems: [`the patch does not apply to ${request.repoDir}: ${applies}`] };
      const fallback = `Apply ${basename(task.file)}: ${task.prompt.split("\n")[0] ?? ""}`;
      return {
        kind: "patch",
        commitMessage: commitMessage(result.content, fallback, request.breadcrumb, request.secrets),
        diff,
        files: changeSet.changes,
      };
    }
    for (const problem of problems) progress(`contract: ${oneLine(problem, 300)}`);
    if (repair >= repairRounds) return { kind: "contract-broken", problems };
    progress(`repair round ${repair + 1} of ${repairRounds}: the agent is told what broke`);
    messages.push({
      role: "user",
      content: `Your change breaks the task's contract:\n${problems
        .map((problem) => `- ` + `${problem}`)
        .join("\n")}\nFix this with the sh tool, then answer with the commit message again.`,
    });
  }
}
