import { describeSandboxResult } from "../sandbox/describe-result.ts";
import { runSandboxed, SandboxUnavailableError } from "../sandbox/run-sandboxed.ts";
import { scratchDirFor } from "../sandbox/scratch-dir.ts";
import type { ToolContext, ToolResult } from "./define-tool.ts";

/**
 * Runs a tool's command in the sandbox, in the session's scratch dir, and describes the outcome for the model.
 * A sandbox that cannot start becomes a failed result saying why, so the model (and the user) can act on it.
 */
export async function runInSandbox(
  command: { argv: string[]; stdin?: string; timeout_s?: number },
  context: ToolContext,
): Promise<ToolResult> {
  try {
    const result = await runSandboxed({
      argv: command.argv,
      stdin: command.stdin,
      scratchDir: scratchDirFor(context),
      timeoutMs: command.timeout_s === undefined ? undefined : Math.round(command.timeout_s * 1000),
      abortSignal: context.signal,
    });
    return { ...describeSandboxResult(result), exitCode: result.exitCode };
  } catch (error) {
    if (error instanceof SandboxUnavailableError) return { ok: false, output: `Error: ${error.message}` };
    throw error;
  }
}
