/**
 * The one glob language of org's path lists: `sandbox.protectedPaths`, `sandbox.secretPaths`, the paths an unsandboxed
 * MCP server runs from, a change's allowed paths, a patch task's `outputs`. Paths are relative to the workspace (or
 * repository) root, with `/` between names.
 *
 * - `*` is any run of characters within one name, `?` one character of a name;
 * - `**` is any number of folders (`a/**` matches `a` itself too; inside a name it runs across `/` as well);
 * - `[abc]`, `[a-z]`, `[!a]` (or `[^a]`) is one character of a name in (or not in) the set;
 * - `{a,b}` is either alternative (they nest);
 * - a pattern without `/` matches that name in any folder, as in .gitignore; a leading `/` anchors it at the root;
 * - a path also matches a pattern that names it with its brackets and braces as plain characters, so a list that
 *   names a file `[1].txt` covers it.
 */
export function matchesPattern(pattern: string, path: string): boolean {
  return compiledPattern(pattern)(path);
}

/** `matchesPattern` that compiles each pattern once: a check may ask of thousands of paths. */
export function patternMatcher(): (pattern: string, path: string) => boolean {
  const compiled = new Map<string, (path: string) => boolean>();
  return (pattern, path) => {
    let test = compiled.get(pattern);
    if (test === undefined) {
      test = compiledPattern(pattern);
      compiled.set(pattern, test);
    }
    return test(path);
  };
}

/** The pattern anchored at the root: a path from the root matches only there, whether it holds a `/` or not. */
export function fromRoot(pattern: string): string {
  return pattern.startsWith("/") ? pattern : `/${pattern}`;
}

function compiledPattern(pattern: string): (path: string) => boolean {
  // `**/**` is `**`.
  const collapsed = pattern.replace(/(^|\/)\*\*(?:\/\*\*)+(?=\/|$)/g, "$1**");
  const anchored = collapsed.includes("/") ? collapsed.replace(/^\//, "") : `**/${collapsed}`;
  const glob = new RegExp(`^${globSource(anchored, true)}$`, "s");
  if (!/[[{]/.test(anchored)) return (path) => glob.test(path);
  const plain = new RegExp(`^${globSource(anchored, false)}$`, "s");
  return (path) => glob.test(path) || plain.test(path);
}

/** A pattern as a regular expression's source; with `sets`, `[…]` and `{…}` are sets and alternatives, else characters. */
function globSource(pattern: string, sets: boolean): string {
  let source = "";
  for (let index = 0; index < pattern.length; index += 1) {
    const char = pattern.charAt(index);
    const group = sets ? groupAt(pattern, index) : undefined;
    if (group !== undefined) {
      source += group.source;
      index = group.end;
    } else if (pattern.startsWith("**/", index)) {
      source += "(?:.*/)?";
      index += 2;
    } else if (pattern.startsWith("/**", index) && index + 3 === pattern.length) {
      source += "(?:/.*)?";
      index += 2;
    } else if (pattern.startsWith("**", index)) {
      source += ".*";
      index += 1;
    } else if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else source += escaped(char);
  }
  return source;
}

/** A `[…]` set or a `{…,…}` alternative starting at `index`: its source and where it ends; undefined for a plain character. */
function groupAt(pattern: string, index: number): { source: string; end: number } | undefined {
  const char = pattern.charAt(index);
  if (char === "[") {
    const negated = pattern.charAt(index + 1) === "!" || pattern.charAt(index + 1) === "^";
    const first = index + (negated ? 2 : 1);
    // A `]` right after the opening is a member, as in a shell.
    const close = pattern.indexOf("]", first + 1);
    const members = pattern.slice(first, close);
    if (close === -1 || members.includes("/")) return undefined;
    return { source: `(?!/)[${negated ? "^" : ""}${members.replace(/[\\^\]]/g, "\\$&")}]`, end: close };
  }
  if (char !== "{") return undefined;
  const alternatives: string[] = [];
  let depth = 0;
  let start = index + 1;
  for (let at = index + 1; at < pattern.length; at += 1) {
    const next = pattern.charAt(at);
    if (next === "{") depth += 1;
    else if (next === "}" && depth > 0) depth -= 1;
    else if ((next === "," || next === "}") && depth === 0) {
      alternatives.push(pattern.slice(start, at));
      start = at + 1;
      if (next === "}")
        return alternatives.length < 2 ? undefined : { source: `(?:${alternatives.map((part) => globSource(part, true)).join("|")})`, end: at };
    }
  }
  return undefined;
}

function escaped(char: string): string {
  return char.replace(/[.+^${}()|[\]\\*?]/g, "\\$&");
}
