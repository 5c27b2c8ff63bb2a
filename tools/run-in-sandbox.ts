import { z } from "zod";
import { describeSandboxResult } from "../sandbox/describe-result.ts";
import { egressAuditEntry } from "../sandbox/egress-audit-entry.ts";
import type { EgressRequest } from "../sandbox/egress-run.ts";
import { ScratchDirectoryError } from "../sandbox/open-scratch.ts";
import { SandboxUnavailableError } from "../sandbox/run-sandboxed.ts";
import { makeScratchRootPrivate, scratchDirFor } from "../sandbox/scratch-dir.ts";
import type { WorkspaceView } from "../sandbox/sandbox-policy.ts";
import { computeChangeSet } from "../workspace/change-set.ts";
import { copyChangedPaths, type PrivateCopy, workspaceChangedPaths } from "../workspace/private-copy.ts";
import { TreeTooLargeError } from "../workspace/tree-snapshot.ts";
import { readOnlyViewMounts, workspaceMounts } from "../workspace/workspace-view.ts";
import type { Capabilities, ToolContext, ToolResult, ToolSession } from "./define-tool.ts";

/** A tool's command: its argv, stdin text, timeout, and the tool's name and the command's text (the egress question shows them). */
type SandboxCommand = { argv: string[]; stdin?: string; timeout_s?: number; tool: string; text: string };

/** The `timeout_s` parameter of a tool that runs a program in the sandbox: wall-clock seconds, 30 when left out. */
export const TIMEOUT_S_PARAMETER = z.number().positive().max(600).optional().describe("Wall-clock timeout in seconds (default 30).");

/**
 * Runs a tool's command in the sandbox, in the session's scratch dir, with the workspace as `sandbox.workspace`
 * says (workspace-view.ts), and describes the outcome for the model. With the write view, what the command
 * changed in its private copy goes to the room (`context.workspaceWrite`), which checks, asks and applies it;
 * what it said is added to the result. A sandbox that cannot start becomes a failed result saying why, so the
 * model (and the user) can act on it.
 */
/** What a command's run uses beside every tool's context: the person to ask about a new host, and the room that applies changes. */
export type SandboxRunContext = ToolContext & Pick<Capabilities, "askPerson" | "workspaceWrite">;

export async function runInSandbox(command: SandboxCommand, context: SandboxRunContext): Promise<ToolResult> {
  const view = context.sandboxPolicy.workspace;
  if (view !== "write") return runOnView(command, context, view);
  // One command at a time on a session's copy: from bringing it level to deciding what it changed.
  const release = await context.workspaceCopies.lock(context.workspaceDir, context.sessionId, context.signal);
  try {
    return await runOnView(command, context, view);
  } finally {
    release();
  }
}

async function runOnView(command: SandboxCommand, context: SandboxRunContext, view: WorkspaceView): Promise<ToolResult> {
  try {
    makeScratchRootPrivate(context.workspaceDir);
    const { copy, notShown, ...mounts } = workspaceMounts(view, context.workspaceDir, context);
    const result = await context.sandbox.run({
      policy: context.sandboxPolicy,
      argv: command.argv,
      stdin: command.stdin,
      scratchDir: scratchDirFor(context),
      timeoutMs: command.timeout_s === undefined ? undefined : Math.round(command.timeout_s * 1000),
      abortSignal: context.signal,
      egress: egressRequest(command, context),
      ...mounts,
      // On the private copy, Python's bytecode caches would come back as changes to the project.
      ...(copy ? { env: { PYTHONDONTWRITEBYTECODE: "1" } } : {}),
    });
    const { exitCode, signal, timedOut, isCanceled, truncated, durationMs } = result;
    // The same outcome as fields: the text for the model is sanitized, these are the raw streams (redacted by runTool).
    const data = {
      exitCode,
      signal,
      timedOut,
      isCanceled,
      stdout: result.stdout,
      stderr: result.stderr,
      truncated,
      durationMs,
      ...(result.egress !== undefined ? { egress: result.egress } : {}),
    };
    const described = describeSandboxResult(result);
    const workspace = copy ? await settleChanges(copy, context) : notShown;
    const output = workspace ? `${described.output}\n[workspace: ${workspace}]` : described.output;
    return { ...described, output, exitCode, data: workspace ? { ...data, workspace } : data };
  } catch (error) {
    if (error instanceof TreeTooLargeError) {
      const message =
        `the workspace cannot be copied for the write view: ${error.message}. Set ` +
        `sandbox.workspace to "read" in org.config.json to show it read-only instead.`;
      return { ok: false, output: `Error: ${message}`, exitCode: null, data: { exitCode: null, error: message } };
    }
    if (error instanceof SandboxUnavailableError || error instanceof ScratchDirectoryError) {
      return {
        ok: false,
        output: `Error: ${error.message}`,
        exitCode: null,
        data: { exitCode: null, sandboxUnavailable: error instanceof SandboxUnavailableError, error: error.message },
      };
    }
    throw error;
  }
}

/**
 * What the egress guard knows of this run (under a policy with sandbox.egress): the persona and the command's first line;
 * a host on neither list is asked about through the room's approvals, whose "always" holds for that host and port for
 * the rest of the session. Where nobody can be asked (serve's HTTP, grow, `org patch`) it is refused.
 */
function egressRequest(command: SandboxCommand, context: SandboxRunContext): EgressRequest {
  const firstLine = (command.text.split("\n").find((line) => line.trim() !== "") ?? "").trim().slice(0, 200);
  const { askPerson } = context;
  return {
    ...(context.persona !== undefined ? { persona: context.persona } : {}),
    command: firstLine,
    onConnection: (connection) =>
      context.audit?.record(
        egressAuditEntry(connection, {
          command: firstLine,
          ...(context.sessionId !== undefined ? { sessionId: context.sessionId } : {}),
          ...(context.persona !== undefined ? { persona: context.persona } : {}),
          ...(context.requestId !== undefined ? { requestId: context.requestId } : {}),
          ...(context.callId !== undefined ? { callId: context.callId } : {}),
        }),
      ),
    ask: async (question, signal) => {
      const answer = await askPerson({
        signal,
        call: {
          ...(context.callId !== undefined ? { id: context.callId } : {}),
          name: command.tool,
          arguments: { connect: `${question.host}:${question.port}`, command: firstLine },
        },
        preview: `${command.tool} wants to connect to ${question.host}:${question.port} (not on sandbox.egress.allow): ${firstLine}`,
        always: {
          key: `egress\u0000${question.host}:${question.port}`,
          label: `sandboxed commands connecting to ${question.host}:${question.port}`,
        },
      });
      return answer === true ? "once" : answer === false ? "deny" : "nobody";
    },
  };
}

/** What the command changed in its private copy, handed to the room; the line for the model, or undefined when nothing changed. */
async function settleChanges(copy: PrivateCopy, context: SandboxRunContext): Promise<string | undefined> {
  let paths: string[];
  try {
    paths = copyChangedPaths(copy);
  } catch (error) {
    if (!(error instanceof TreeTooLargeError)) throw error;
    const refused = `the change was refused whole; nothing of it was applied: ${error.message}`;
    await context.workspaceWrite({ paths: [], changeSet: () => ({ changes: [] }), conflicts: () => [], refused });
    return refused;
  }
  if (paths.length === 0) return undefined;
  return context.workspaceWrite({
    paths,
    changeSet: () => computeChangeSet({ baseDir: copy.workspaceDir, changedDir: copy.copyDir, paths }),
    conflicts: () => workspaceChangedPaths(copy, paths),
  });
}

/**
 * Starts the sandbox a session's first command-only call (no stdin text) will be handed, so that call pays
 * none of bwrap's set-up; a problem is left for that call to report.
 */
export function prestartSessionSandbox(session: ToolSession): void {
  const view = session.sandboxPolicy.workspace;
  // The write view's first call copies the workspace: a room must not wait for that to open, to save bwrap's start.
  // Under sandbox.egress every call carries the proxy variables, which no waiting sandbox can take: none is started.
  if (view === "write" || session.sandboxPolicy.egress !== undefined) return;
  try {
    makeScratchRootPrivate(session.workspaceDir);
    const { copy: _copy, ...mounts } = readOnlyViewMounts(view, session.workspaceDir, session);
    session.sandbox.prestart({ policy: session.sandboxPolicy, scratchDir: scratchDirFor(session), ...mounts });
  } catch {
    // The first call meets the same problem and reports it as its result.
  }
}
