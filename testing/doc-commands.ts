// What a reader of org's docs types: every command of the README's tour and of the guides (docs/*.md), and every line
// typed into a room in their sessions, read from the pages themselves, so a command added to a page is one more a walk
// (testing/doc-walks/) must run. docs/doc-commands.test.ts holds every one of them to a walk.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** One thing a reader types: a shell command (`command`) or a line typed into an open room (`typed`). */
export type DocCommand = { doc: string; line: number; kind: "command" | "typed"; text: string };

const ROOT = join(import.meta.dir, "..");

/** A shell line of a ```sh block that runs org (or the demo): `org …`, `VAR=… org …`, `cd … && … org …`, `npm start`. */
const RUNS_ORG = /^(?:(?:cd \S+ && )?(?:[A-Z_]+=\S+ )*org(?:\s|$)|npm (?:install && )?start\b)/;
/** A line a person typed into a room, as a session shows it: the prompt (`group › `, `direct:agent › `), then the text. */
const TYPED = /^(?:group|direct:[a-z][\w-]*|file:\S+) › (\S.*)$/;
/** A shell line's trailing comment (`  # in one terminal`). */
const COMMENT = /\s+#\s.*$/;

/** The commands and typed lines of one page: `$ ` lines and room prompts in its fences, org lines of its ```sh fences. */
export function commandsOf(doc: string, text: string): DocCommand[] {
  const found: DocCommand[] = [];
  let fence: string | undefined;
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.trimStart();
    const opens = /^(`{3,})(\w*)/.exec(line);
    if (opens) {
      fence = fence === undefined ? (opens[2] ?? "") : undefined;
      continue;
    }
    if (fence === undefined) continue;
    const at = { doc, line: index + 1 };
    const typed = TYPED.exec(line)?.[1];
    if (line.startsWith("$ ")) found.push({ ...at, kind: "command", text: line.slice(2).replace(COMMENT, "").trim() });
    else if (typed !== undefined) found.push({ ...at, kind: "typed", text: typed.trim() });
    else if (fence === "sh" && RUNS_ORG.test(line)) found.push({ ...at, kind: "command", text: line.replace(COMMENT, "").trim() });
  }
  return found;
}

/** The README's tour: each backticked `org …` (or `VAR=… org …`, `npm start`) command, and each `/command` typed in the room. */
export function tourCommands(readme: string): DocCommand[] {
  const start = readme.indexOf("## A five-minute tour");
  const end = readme.indexOf("\n## ", start + 1);
  if (start < 0) throw new Error('README.md has no "## A five-minute tour" section any more: update testing/doc-commands.ts');
  const found: DocCommand[] = [];
  const before = readme.slice(0, start).split("\n").length;
  for (const [index, line] of readme
    .slice(start, end < 0 ? undefined : end)
    .split("\n")
    .entries()) {
    for (const [, code] of line.matchAll(/`([^`]+)`/g)) {
      const text = (code ?? "").trim();
      const at = { doc: "README.md", line: before + index };
      if (RUNS_ORG.test(text)) found.push({ ...at, kind: "command", text });
      else if (/^\/[a-z]+$/.test(text)) found.push({ ...at, kind: "typed", text });
    }
  }
  return found;
}

/** Every command and typed line of the README's tour and of docs/*.md, in page order. */
export function docCommands(root = ROOT): DocCommand[] {
  const guides = readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort();
  return [
    ...tourCommands(readFileSync(join(root, "README.md"), "utf8")),
    ...guides.flatMap((name) => commandsOf(`docs/${name}`, readFileSync(join(root, "docs", name), "utf8"))),
  ];
}
