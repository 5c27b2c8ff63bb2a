import { withoutUserinfo } from "../../llm/server-url.ts";
import { OrgError } from "../../errors/org-error.ts";
import { redact } from "../../security/redact.ts";
import { isRefusal } from "../../security/refusal.ts";
import { UsageError } from "./command.ts";
import { orgInvocation } from "./org-invocation.ts";

/**
 * What main prints when a command ends in an error, and the exit code: a usage error in one line with the
 * help hint (2); an `OrgError` in one line and its next step, or one the system raised in one line (1);
 * anything else is a bug and shows its stack (1).
 */
export function reportFailure(error: unknown, invocation = orgInvocation()): { text: string; exitCode: number } {
  const report = reportOf(error, invocation);
  // An error may quote a server URL or a key of the environment: neither is printed.
  return { ...report, text: redact(withoutUserinfo(report.text)) };
}

/** A failure as one entry of a log that goes on (an unattended loop's): the report's text without "org: ", redacted. */
export function describeFailure(error: unknown): string {
  return reportFailure(error)
    .text.replace(/^org: /, "")
    .trimEnd();
}

function reportOf(error: unknown, invocation: string): { text: string; exitCode: number } {
  if (error instanceof UsageError) {
    return { text: `org: ${error.message}\nRun '${invocation} ${error.command ? `${error.command} ` : ""}--help' for usage.\n`, exitCode: 2 };
  }
  if (isRefusal(error)) {
    const nextStep = OrgError.isInstance(error) && error.nextStep !== undefined ? `${error.nextStep}\n` : "";
    return { text: `org: ${error.message}\n${nextStep}`, exitCode: 1 };
  }
  const detail = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : Bun.inspect(error);
  return { text: `org: unexpected error, a bug in org; please report it with what you ran and this:\n${detail}\n`, exitCode: 1 };
}
