/** What `file:` mode writes to, as the refusals say it. */
export const REPLY_FILE_RULE =
  'replies go only to plain-text files: a path inside the workspace, no part of it beginning with ".", ending ' +
  'in .md, .txt or .log (new files are made), e.g. "file:notes/replies.md"';

const EXTENSIONS = [".md", ".txt", ".log"];
// Letters, digits and marks of any script, and a few plain separators; nothing invisible, no look-alike dots.
const PART = /^[\p{L}\p{N}_][\p{L}\p{N}\p{M}_ .,+@()-]*$/u;

/**
 * Why replies may not be appended to the workspace-relative `relativePath`, or undefined when they may. Only
 * plain text: a file the workspace's tools read as configuration (`.env`, `bunfig.toml`, `package.json`,
 * anything under a dot folder) would let a reply configure them. The path is taken as given, split on `/`:
 * `x.md/`, `a//b.md`, `./x.md` and `..` are refused, not normalized (`/mode` normalizes what the user typed first).
 */
export function replyFileProblem(relativePath: string): string | undefined {
  const refuse = (why: string) => `"${printable(relativePath)}" ${why}; ${REPLY_FILE_RULE}.`;
  if (relativePath.startsWith("/")) return refuse("is absolute");
  const parts = relativePath.split("/");
  for (const part of parts) {
    if (part === "") return refuse("has an empty part (a doubled or trailing /)");
    if (part.startsWith(".")) return refuse(`has the part "${printable(part)}", which begins with "."`);
    if (!PART.test(part) || part.endsWith(" "))
      return refuse(`has the part "${printable(part)}" with a character other than letters, digits, and _ - . , + @ ( ) or a space inside`);
  }
  const name = parts.at(-1) ?? "";
  if (!EXTENSIONS.some((extension) => name.endsWith(extension) && name.length > extension.length)) {
    return refuse("does not end in .md, .txt or .log");
  }
  return undefined;
}

/** The path with control and invisible characters shown as \u escapes, so a refusal cannot hide them. */
function printable(text: string): string {
  return text.replace(/[\p{C}\p{Z}]/gu, (char) => (char === " " ? " " : `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`));
}
