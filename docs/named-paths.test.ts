import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

const REPO = join(import.meta.dir, "..");

/**
 * Which backticked spans of a README are paths of this repository, and so must exist:
 *
 * - inline code only: fenced blocks show output and examples;
 * - path characters only (letters, digits, `_ . -` and `/`), so commands, globs, `<name>` placeholders,
 *   URLs and `host:port` are not paths;
 * - ending in `/` (a folder), in a file kind the repo holds (`.ts`, `.md`, `.json`, `.sh`, …), or starting
 *   with a part of the repo and a `/` (`cli/tool/tool-command`, a module or test named without its kind; a bare
 *   `serve` is the command);
 * - not starting with `/` or `.`: absolute paths (the sandbox's `/usr`, routes like `/v1/models`, slash
 *   commands) and runtime state (`.org/`) or paths relative to elsewhere (`./tool.ts`) are not the repo's.
 *
 * A path with a folder in it must exist from the repo's root or from the README's folder, a module named
 * without its kind as `.ts` or `.test.ts`; a bare name (`chat-once.ts`, `extract/`) must be the name of a
 * file or folder somewhere in the tree.
 */
const PATH_KINDS = /(\/|\.(ts|js|md|json|jsonc|sh|grit|toml|txt))$/;
const PATH_CHARACTERS = /^[\w.-]+(\/[\w.-]+)*\/?$/;

/** Names that look like repo paths but name something else, each with the reason. */
const NOT_REPO_PATHS = new Map<string, string>([
  ["tool.ts", "a generated tool's file, under tools/generated/<name>/ at run time"],
  ["tool.test.ts", "a generated tool's file, under tools/generated/<name>/ at run time"],
  ["metadata.json", "a generated tool's file, under tools/generated/<name>/ at run time"],
  ["org.config.json", "the user's config file, in the workspace"],
  ["mcp-trust.json", "the MCP confirmations a backup carries, under a .org/ of it (and an older org's, in a workspace)"],
  ["trust/", "the folder of confirmations in the user's own org folder (ORG_HOME, else ~/.config/org)"],
  ["claude_desktop_config.json", "an MCP client's config file, on the user's machine"],
  ["cand/", "the candidate branches' namespace in git"],
  ["promote/", "the promotion tags' namespace in git"],
  ["rollback/", "the rollback tags' namespace in git"],
  ["refs/replace/", "git's namespace of replace refs, which a restore leaves out"],
  ["refs/org/incoming/", "where org share pull keeps the offers and recalls it fetched, a git ref namespace"],
  ["offer.json", "the manifest in an offer's commit on a share remote"],
  ["recall.json", "the manifest in a recall's commit on a share remote"],
  ["files/", "the folder of a tool's files in an offer's commit on a share remote"],
  ["settings.json", "sharing's settings, in the share folder of the user's own org folder"],
  ["share/offers.json", "the offers' states, in the user's own org folder (ORG_HOME, else ~/.config/org)"],
  ["share/allowed_signers", "the trusted keys, in the user's own org folder (ORG_HOME, else ~/.config/org)"],
  ["generated/", "what a generated tool's import resolver sees inside the sandbox"],
  ["tools/list", "an MCP method"],
  ["tools/call", "an MCP method"],
  ["tools/list_changed", "an MCP notification"],
  ["x.md/", "a hostile file name a reply may carry"],
  ["run.md.sh", "a hostile file name a reply may carry"],
  ["notes.md.sh", "a hostile file name a reply may carry"],
  ["NOTES.md", "the file the playground's scripted agent writes in the user's project"],
  ["Cargo.toml", "a Rust project's file, by which the playground's agent knows how to run its tests"],
]);
/** Folders that hold what org writes at run time, absent from a fresh checkout. */
const RUNTIME_PREFIXES = ["tools/generated/", "node_modules/"];
const SKIPPED_FOLDERS = new Set(["node_modules", ".git", ".org", "coverage"]);
/** The repo's top folders: a span `part/...` names a module even without its kind. */
const PARTS = new Set(
  readdirSync(REPO, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !SKIPPED_FOLDERS.has(entry.name))
    .map((entry) => entry.name),
);

/** `markdown` without its fenced blocks, which show output and examples. */
const withoutFences = (markdown: string) => markdown.replace(/^ {0,3}(```|~~~)[\s\S]*?^ {0,3}\1/gm, "");

/** The backticked spans of `markdown` that the rule above takes for repo paths. */
function namedPaths(markdown: string): string[] {
  return [...withoutFences(markdown).matchAll(/`([^`\n]+)`/g)]
    .map((match) => match[1] ?? "")
    .filter(
      (span) =>
        PATH_CHARACTERS.test(span) && (PATH_KINDS.test(span) || (span.includes("/") && PARTS.has(span.split("/")[0] ?? ""))) && !span.startsWith("."),
    )
    .filter((span) => !NOT_REPO_PATHS.has(span) && !RUNTIME_PREFIXES.some((prefix) => span.startsWith(prefix)));
}

/** Every file and folder name in the tree, for bare names. */
function namesInTree(directory: string, names = new Set<string>()): Set<string> {
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    if (SKIPPED_FOLDERS.has(entry.name) || join(directory, entry.name) === join(REPO, "tools", "generated")) continue;
    names.add(entry.isDirectory() ? `${entry.name}/` : entry.name);
    if (entry.isDirectory()) namesInTree(join(directory, entry.name), names);
  }
  return names;
}

/** README.md, docs/*.md and every README.md in a folder of the tree. */
function readmes(directory = REPO): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory() && !SKIPPED_FOLDERS.has(entry.name) && path !== join(REPO, "tools", "generated")) found.push(...readmes(path));
    else if (entry.name === "README.md" || (directory === join(REPO, "docs") && entry.name.endsWith(".md"))) found.push(path.slice(REPO.length + 1));
  }
  return found.sort();
}

/** The paths `text`, the README at `readme` (relative to the repo), names that are nowhere in the tree. */
function missingIn(readme: string, text: string, names: ReadonlySet<string>): string[] {
  return namedPaths(text).filter((path) => {
    const bare = !path.replace(/\/$/, "").includes("/");
    if (bare) return !names.has(path);
    const candidates = PATH_KINDS.test(path) ? [path] : [path, `${path}.ts`, `${path}.test.ts`];
    return !candidates.some((candidate) => existsSync(join(REPO, candidate)) || existsSync(join(REPO, dirname(readme), candidate)));
  });
}

/** GitHub's id for a heading: lower case, punctuation dropped, spaces as `-`; a repeated one gets `-1`, `-2`, … */
const headingId = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");

/** The ids of the headings of `markdown`, as GitHub makes them. */
function headingIds(markdown: string): Set<string> {
  const counts = new Map<string, number>();
  const ids = new Set<string>();
  for (const match of withoutFences(markdown).matchAll(/^#{1,6}\s+(.+)$/gm)) {
    const id = headingId(match[1] ?? "");
    const seen = counts.get(id) ?? 0;
    ids.add(seen === 0 ? id : `${id}-${seen}`);
    counts.set(id, seen + 1);
  }
  return ids;
}

/** The relative links of `text`, the doc at `doc`, whose file or heading is not there. */
function brokenLinks(doc: string, text: string): string[] {
  return [...withoutFences(text).matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1] ?? "")
    .filter((target) => !/^[a-z]+:/i.test(target))
    .filter((target) => {
      const [path = "", anchor] = target.split("#");
      const file = path === "" ? doc : join(dirname(doc), path);
      if (!existsSync(join(REPO, file))) return true;
      return anchor !== undefined && file.endsWith(".md") && !headingIds(readFileSync(join(REPO, file), "utf8")).has(anchor);
    });
}

describe("the links between the docs", () => {
  test("reach a file and, with a #, a heading of it", () => {
    const broken = readmes().flatMap((doc) => brokenLinks(doc, readFileSync(join(REPO, doc), "utf8")).map((target) => `${doc}: (${target})`));
    expect(broken).toEqual([]);
  });

  test("a renamed heading or a moved file is caught", () => {
    expect(headingIds("# A `web_fetch`: the web\n## Usage\n## Usage\n```\n# not a heading\n```")).toEqual(
      new Set(["a-web_fetch-the-web", "usage", "usage-1"]),
    );
    const text = "[ok](../README.md#quick-start) [gone](../README.md#no-such-heading) [moved](../cli/assemble-room.ts) [web](https://example.com/x)";
    expect(brokenLinks("docs/lint.md", text)).toEqual(["../README.md#no-such-heading", "../cli/assemble-room.ts"]);
  });
});

describe("the paths the READMEs name", () => {
  test("exist in the tree", () => {
    const names = namesInTree(REPO);
    const files = readmes();
    expect(files).toContain("generated-tools/README.md");
    expect(files).toContain("docs/ARCHITECTURE.md");
    const missing = files.flatMap((readme) =>
      [...new Set(missingIn(readme, readFileSync(join(REPO, readme), "utf8"), names))].map((path) => `${readme}: \`${path}\``),
    );
    expect(missing).toEqual([]);
  });

  test("the rule takes repo paths and leaves routes, runtime state, commands and examples", () => {
    const text = [
      "`cli/chat/chat-command.ts`, `assembly/`, `chat-once.ts`, `docs/lint.md`, `cli/tool/tool-command`, `serve`",
      "`/v1/models`, `/usr/bin`, `.org/memory/`, `./tool.ts`, `tools/list`, `org tool new`, `tools/generated/<name>/`",
      "`tools/generated/slugify/tool.ts`, `metadata.json`, `https://example.com/a.ts`, `cand/`",
      "```",
      "`fenced/away.ts`",
      "```",
    ].join("\n");
    expect(namedPaths(text)).toEqual(["cli/chat/chat-command.ts", "assembly/", "chat-once.ts", "docs/lint.md", "cli/tool/tool-command"]);
  });

  test("a moved file, a missing part or module, a renamed bare file are caught", () => {
    const names = namesInTree(REPO);
    const text =
      "assembled in `cli/assemble-room.ts` (now `assembly/assemble-room.ts`), `no-such-part/`, `cli/no-such-command`, `no-such-file.ts`, `cli/tool/tool-command`";
    expect(missingIn("generated-tools/README.md", text, names)).toEqual([
      "cli/assemble-room.ts",
      "no-such-part/",
      "cli/no-such-command",
      "no-such-file.ts",
    ]);
  });
});
