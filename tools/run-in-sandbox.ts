import { z } from "zod";
import { describeSandboxResult } from "../sandbox/describe-result.ts";
import { ScratchDirectoryError } from "../sandbox/open-scratch.ts";
import { prestartSandbox, runSandboxed, SandboxUnavailableError } from "../sandbox/run-sandboxed.ts";
import { makeScratchRootPrivate, scratchDirFor } from "../sandbox/scratch-dir.ts";
import type { ToolContext, ToolResult, ToolSession } from "./define-tool.ts";

/** The `timeout_s` parameter of a tool that runs a program in the sandbox: wall-clock seconds, 30 when left out. */
export const TIMEOUT_S_PARAMETER = z.number().positive().max(600).optional().describe("Wall-clock timeout in seconds (default 30).");

/**
 * Runs a tool's command in the sandbox, in the session's scratch dir, and describes the outcome for the model.
 * A sandbox that cannot start becomes a failed result saying why, so the model (and the user) can act on it.
 */
export async function runInSandbox(command: { argv: string[]; stdin?: string; timeout_s?: number }, context: ToolContext): Promise<ToolResult> {
  try {
    makeScratchRootPrivate(context.workspaceDir);
    const result = await runSandboxed({
      argv: command.argv,
      stdin: command.stdin,
      scratchDir: scratchDirFor(context),
      timeoutMs: command.timeout_s === undefined ? undefined : Math.round(command.timeout_s * 1000),
      abortSignal: context.signal,
      ...(context.sandbox ? { policy: context.sandbox } : {}),
    });
    const { exitCode, signal, timedOut, isCanceled, truncated, durationMs } = result;
    // The same outcome as fields: the text for the model is sanitized, these are the raw streams (redacted by runTool).
    const data = { exitCode, signal, timedOut, isCanceled, stdout: result.stdout, stderr: result.stderr, truncated, durationMs };
    return { ...describeSandboxResult(result), exitCode, data };
  } catch (error) {
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
 * Starts the sandbox a session's first command-only call (no stdin text) will be handed, so that call pays
 * none of bwrap's set-up; a problem is left for that call to report.
 */
export function prestartSessionSandbox(session: ToolSession): void {
  try {
    makeScratchRootPrivate(session.workspaceDir);
    prestartSandbox({ scratchDir: scratchDirFor(session), ...(session.sandbox ? { policy: session.sandbox } : {}) });
  } catch {
    // The first call meets the same problem and reports it as its result.
  }
}
