import { redact } from "../security/redact.ts";
import { oneLine } from "../security/terminal-sanitizer.ts";

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
 * A line a patch tool reads as part of a diff (git apply's and GNU patch's headers, hunks, modes and binary blocks; GNU
 * patch takes indented diffs too), or that ends a commit message for git (`---`, the patch divider).
 */
const DIFF_LINE = new RegExp(
  String.raw`^\s*(diff |---|\+\+\+|@@|\*\*\*|index |Index:|new file mode|deleted file mode|old mode|new mode|` +
    `similarity index|dissimilarity index|rename (from|to) |copy (from|to) |GIT binary patch|Binary files |` +
    String.raw`literal \d|delta \d)`,
);

/** A line git could take for a trailer (`Token: value`, `Token : value`, or with another separator git may be set to). */
const TRAILER_LINE = /^\s*[\p{L}\p{N}][\p{L}\p{N}_-]*\s*[:=#]/u;

/** A line naming the breadcrumb in any spacing or case (`Tracking-Breadcrumb :`, `tracking breadcrumb:`). */
const BREADCRUMB_LINE = new RegExp(`^\\W*${BREADCRUMB_TRAILER.split("-").join("[\\s_-]*")}`, "i");

/**
 * The commit message from the model's last reply (hostile text): secrets redacted (`secrets` and the environment's),
 * control characters out, fences and marker lines dropped, every line a patch tool would read as a diff dropped (so
 * `git apply` of the whole output applies only the patch), a subject of at most 100 characters and a bounded body
 * with no line git could take for a trailer; `fallback` when nothing is left. The breadcrumb, already checked, is the
 * one trailer, last, in a paragraph of its own. The fallback (the task's own words, with --var values in them) is made
 * one plain line too.
 */
export function commitMessage(reply: string, fallback: string, breadcrumb?: string, secrets: readonly string[] = []): string {
  const lines = redact(reply, secrets)
    .replace(/\r\n?/g, "\n")
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "")
    .replace(/\t/g, "  ")
    .split("\n")
    .map((line) => line.trimEnd().slice(0, MAX_LINE_CHARS))
    .filter((line) => !/^\s*(```|~~~)/.test(line) && !line.includes(COMMIT_MSG_MARKER) && !line.includes(PATCH_MARKER))
    .filter((line) => !DIFF_LINE.test(line) && !BREADCRUMB_LINE.test(line));
  while (lines.length > 0 && lines[0]?.trim() === "") lines.shift();
  const [subject = "", ...rest] = lines;
  // The subject may read `fix: …` (git never takes the first paragraph for trailers); the body holds none.
  const body = rest
    .filter((line) => !TRAILER_LINE.test(line))
    .slice(0, MAX_BODY_LINES)
    .join("\n")
    .trim();
  const head = subject.trim().slice(0, MAX_SUBJECT_CHARS) || oneLine(redact(fallback, secrets), MAX_SUBJECT_CHARS);
  const message = body ? `${head}\n\n${body}` : head;
  return breadcrumb ? `${message}\n\n${BREADCRUMB_TRAILER}: ${breadcrumb}` : message;
}
