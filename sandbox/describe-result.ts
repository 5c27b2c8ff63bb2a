import type { SandboxResult } from "./sandbox-result.ts";

const SIGNAL_MEANING: Record<string, string> = {
  SIGXCPU: "it used up its CPU-time limit",
  SIGXFSZ: "it tried to write a file larger than the file-size limit",
  SIGKILL: "killed (a limit: timeout, CPU time, memory, output or scratch size)",
  SIGSEGV: "segmentation fault (possibly out of memory under the address-space limit)",
  SIGABRT: "aborted (possibly out of memory under the address-space limit)",
  SIGSYS: "a forbidden system call",
};

// Terminal escapes (CSI, OSC, other ESC sequences) and control bytes a model or a console should not get raw.
const ANSI = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])/g;
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g;

/** Strips terminal escape sequences and shows other control characters as U+FFFD; keeps newlines and tabs. */
export function sanitizeOutput(text: string): string {
  return text.replace(ANSI, "").replace(/\r\n/g, "\n").replace(CONTROL, "\uFFFD");
}

/** The result as text a model can act on: how it ended, then stdout and stderr. */
export function describeSandboxResult(result: SandboxResult): { ok: boolean; output: string } {
  const lines: string[] = [];
  if (result.isCanceled) lines.push("cancelled before it finished");
  else if (result.timedOut) lines.push(`timed out after ${(result.durationMs / 1000).toFixed(1)} s and was killed`);
  else if (result.signal) lines.push(`ended by ${result.signal}: ${SIGNAL_MEANING[result.signal] ?? "killed by a signal"}`);
  lines.push(`exit code: ${result.exitCode ?? "none (killed)"}`);
  if (result.egress !== undefined) lines.push(`network: ${result.egress}`);
  if (result.truncated) lines.push("output was truncated: the middle was cut, head and tail are kept");
  const stdout = sanitizeOutput(result.stdout);
  const stderr = sanitizeOutput(result.stderr);
  lines.push(stdout ? `stdout:\n${stdout.replace(/\n$/, "")}` : "stdout: (empty)");
  lines.push(stderr ? `stderr:\n${stderr.replace(/\n$/, "")}` : "stderr: (empty)");
  const ok = result.exitCode === 0 && !result.timedOut && !result.isCanceled;
  return { ok, output: lines.join("\n") };
}
