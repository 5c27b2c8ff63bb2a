import { z } from "zod";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { redact } from "../security/redact.ts";
import { SANDBOX_BUN, SANDBOX_RUNNER, SANDBOX_TOOL_DIR, TOOLCHAIN_ENV, runnerMounts } from "./sandbox-toolchain.ts";
import { randomHex } from "../concurrency/random-hex.ts";

/** How long a generated tool may compute, by default; the sandbox adds bun's start-up on top. */
export const DEFAULT_TOOL_TIMEOUT_MS = 5_000;
const STARTUP_ALLOWANCE_MS = 3_000;

/** What running a generated tool gave: its output (checked and redacted), or why there is none. */
export type GeneratedToolRun =
  | { ok: true; output: unknown; durationMs: number }
  | { ok: false; reason: "input" | "tool" | "timeout" | "output" | "sandbox" | "cancelled"; error: string; durationMs: number };

/** The result line the fixed runner (generated-tool-runner.ts) prints after its marker. */
export const RunnerResult = z.union([
  z.strictObject({ ok: z.literal(true), output: z.unknown() }),
  z.strictObject({ ok: z.literal(false), error: z.string() }),
]);

/**
 * Runs a generated tool once, in a fresh sandbox, through the fixed runner: its folder read-only, scratch
 * writable, no network. The output is checked against the output schema and redacted before anyone sees it.
 */
export async function runGeneratedTool(
  options: SandboxAccess & {
    toolDir: string;
    inputSchema: Record<string, unknown>;
    outputSchema: Record<string, unknown>;
    input: unknown;
    scratchDir: string;
    timeoutMs?: number;
    signal?: AbortSignal;
  },
): Promise<GeneratedToolRun> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  const marker = `org-result-${randomHex(16)}`;
  const result = await options.sandbox.run({
    policy: options.sandboxPolicy,
    argv: [SANDBOX_BUN, SANDBOX_RUNNER],
    stdin: JSON.stringify({
      marker,
      toolPath: `${SANDBOX_TOOL_DIR}/tool.ts`,
      inputSchema: options.inputSchema,
      input: options.input,
      timeoutMs,
    }),
    scratchDir: options.scratchDir,
    timeoutMs: timeoutMs + STARTUP_ALLOWANCE_MS,
    readOnlyMounts: [...runnerMounts(), { source: options.toolDir, target: SANDBOX_TOOL_DIR }],
    env: TOOLCHAIN_ENV,
    abortSignal: options.signal,
  });
  const durationMs = result.durationMs;
  // Cut by its caller: no judgement of the tool, whatever the run left.
  if (options.signal?.aborted) return { ok: false, reason: "cancelled", error: "the call was cancelled by its caller before it ended", durationMs };
  if (result.timedOut) {
    return { ok: false, reason: "timeout", error: `the tool ran past its ${timeoutMs} ms timeout and was killed`, durationMs };
  }
  const at = result.stdout.lastIndexOf(`\n${marker}\n`);
  const parsed = at < 0 ? undefined : RunnerResult.safeParse(safeJson(result.stdout.slice(at + marker.length + 2)));
  if (!parsed?.success) {
    const stderr = redact(result.stderr.trim()).slice(-2_000);
    return {
      ok: false,
      reason: result.isCanceled ? "sandbox" : "tool",
      error: `the tool ended without a result (exit code ${result.exitCode ?? "none"}${
        result.signal ? `, ` + `${result.signal}` : ""
      })${stderr ? `: ${stderr}` : ""}`,
      durationMs,
    };
  }
  const answer = parsed.data;
  if (!answer.ok) {
    const reason = answer.error.startsWith("the input does not match")
      ? "input"
      : answer.error.startsWith("the tool did not finish")
        ? "timeout"
        : "tool";
    return { ok: false, reason, error: redact(answer.error).slice(0, 4_000), durationMs };
  }
  const checked = z.fromJSONSchema(options.outputSchema).safeParse(answer.output);
  if (!checked.success) {
    const issues = checked.error.issues.map((issue) => `${issue.path.join(".") || "(output)"}: ${issue.message}`).join("; ");
    return { ok: false, reason: "output", error: `the tool's output does not match its output schema: ${redact(issues)}`, durationMs };
  }
  return { ok: true, output: redactJson(answer.output), durationMs };
}

/** The value with every secret the redactor knows replaced; a value the replacement breaks becomes its text. */
function redactJson(value: unknown): unknown {
  const text = redact(JSON.stringify(value));
  const parsed = safeJson(text);
  return parsed === undefined ? text : parsed;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
