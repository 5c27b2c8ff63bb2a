/**
 * What is wrong with a task's path or glob (relative to the repository or context root), or undefined when it is
 * a plain relative path: not absolute, no `..` or `.` parts, no backslash, no control characters.
 */
export function checkOutputPattern(pattern: string): string | undefined {
  if (pattern.startsWith("/")) return `${JSON.stringify(pattern)} is absolute: give a path relative to the root`;
  if (/[\u0000-\u001f\u007f\\]/.test(pattern)) return `${JSON.stringify(pattern)} holds a control character or a backslash`;
  if (pattern.split("/").some((part) => part === ".." || part === "." || part === "")) {
    return `${JSON.stringify(pattern)} has an empty, '.' or '..' part: give a plain path inside the root`;
  }
  return undefined;
}

/** The outputs of a task as one test: a path matches when it equals an entry or an entry's glob (`*`, `**`, `?`) matches it. */
export function outputMatcher(patterns: readonly string[]): (path: string) => boolean {
  const globs = patterns.map((pattern) => new Bun.Glob(pattern));
  return (path) => patterns.includes(path) || globs.some((glob) => glob.match(path));
}
