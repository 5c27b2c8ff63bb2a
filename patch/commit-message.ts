import { sanitizeOneLine } from "../security/terminal-sanitizer.ts";

/** The markers of `org patch`'s output; a commit message never holds a line equal to one. */
export const COMMIT_MSG_MARKER = "---COMMIT_MSG---";
export const PATCH_MARKER = "---PATCH---";
/** The trailer that carries TRACKING_BREADCRUMB in the commit message. */
export const BREADCRUMB_TRAILER = "Tracking-Breadcrumb";

const MAX_SUBJECT_CHARS = 100;
const MAX_BODY_LINES = 60;
const MAX_LINE_CHARS = 200;

/** What is wrong with a breadcrumb (one printable line of at most 200 characters), or undefined when it is fine. */
export function breadcrumbProblem(breadcrumb: string): string | undefined {
  if (breadcrumb.length > 200) return `TRACKING_BREADCRUMB is ${breadcrumb.length} characters; give at most 200`;
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(breadcrumb))
    return "TRACKING_BREADCRUMB holds a control character or line break; give one printable line";
  return undefined;
}

/**
 * The commit message from the model's last reply (hostile text): control characters out, fences and marker or
 * trailer lines dropped, a subject of at most 100 characters and a bounded body; `fallback` when nothing is left.
 * The breadcrumb, already checked, goes in as the trailer. The fallback (the task's own words, with --var values in
 * them) is made one plain line too.
 */
export function commitMessage(reply: string, fallback: string, breadcrumb?: string): string {
  const lines = reply
    .replace(/\r\n?/g, "\n")
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "")
    .replace(/\t/g, "  ")
    .split("\n")
    .map((line) => line.trimEnd().slice(0, MAX_LINE_CHARS))
    .filter((line) => !/^\s*(```|~~~)/.test(line) && !line.includes(COMMIT_MSG_MARKER) && !line.includes(PATCH_MARKER))
    .filter((line) => !line.toLowerCase().startsWith(`${BREADCRUMB_TRAILER.toLowerCase()}:`));
  while (lines.length > 0 && lines[0]?.trim() === "") lines.shift();
  const [subject = "", ...rest] = lines;
  const body = rest.slice(0, MAX_BODY_LINES).join("\n").trim();
  const head = subject.trim().slice(0, MAX_SUBJECT_CHARS) || sanitizeOneLine(fallback, MAX_SUBJECT_CHARS);
  const message = body ? `${head}\n\n${body}` : head;
  return breadcrumb ? `${message}\n\n${BREADCRUMB_TRAILER}: ${breadcrumb}` : message;
}
