import { fromRoot, patternMatcher } from "../workspace/path-glob.ts";

/**
 * What is wrong with a task's path (relative to the repository or context root), or undefined when it is a plain
 * relative path: not absolute, no `..` or `.` parts, no backslash, no control characters.
 */
export function checkRelativePath(path: string): string | undefined {
  if (path.startsWith("/")) return `${JSON.stringify(path)} is absolute: give a path relative to the root`;
  if (/[\u0000-\u001f\u007f\\]/.test(path)) return `${JSON.stringify(path)} holds a control character or a backslash`;
  if (path.split("/").some((part) => part === ".." || part === "." || part === "")) {
    return `${JSON.stringify(path)} has an empty, '.' or '..' part: give a plain path inside the root`;
  }
  return undefined;
}

/**
 * What is wrong with a task's output (a path or a glob from the repository root), or undefined: a plain relative path
 * (`checkRelativePath`), no leading `!`, no `**` inside a name.
 */
export function checkOutputPattern(pattern: string): string | undefined {
  const plain = checkRelativePath(pattern);
  if (plain !== undefined) return plain;
  if (pattern.startsWith("!")) return `${JSON.stringify(pattern)} starts with '!': outputs list what may change, with no exceptions; name the paths`;
  // Inside a name `**` would run across folders: an output never reaches further than it says.
  if (pattern.split("/").some((part) => part.includes("**") && part !== "**")) {
    return `${JSON.stringify(pattern)} has '**' inside a name: write 'a/**/b' for any folders between, or '*' for any characters of one name`;
  }
  return undefined;
}

/**
 * The outputs of a task as one test: a path matches when an entry, in the workspace's glob language (`*`, `?`, `**`,
 * `[…]`, `{…,…}`, `workspace/path-glob.ts`), matches it from the repository root: `README.md` is the top one only.
 */
export function outputMatcher(patterns: readonly string[]): (path: string) => boolean {
  const matches = patternMatcher();
  const rooted = patterns.map(fromRoot);
  return (path) => rooted.some((pattern) => matches(pattern, path));
}
