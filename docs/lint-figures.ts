import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { moduleStateOf } from "../testing/module-state.ts";
import { LINE_WIDTH, longLinesOf, typescriptFiles } from "./long-lines.ts";

/**
 * The figures docs/lint.md quotes (casts, long functions, duplicated runs, `biome-ignore`s), computed from
 * the tree with TypeScript's parser. `npm run docs:lint` rewrites the block between the markers below;
 * docs/lint-figures.test.ts fails when the block and the tree disagree.
 */

export const BEGIN_MARKER = "<!-- lint-figures:begin (npm run docs:lint writes this block) -->";
export const END_MARKER = "<!-- lint-figures:end -->";
export const REFRESH_COMMAND = "npm run docs:lint";

/**
 * A function spanning more lines than this, from its first line to its last with the functions nested in it
 * included, is listed; a nested function spanning more is listed as well, on its own row.
 */
export const LONG_FUNCTION_LINES = 80;
/** Two places sharing at least this many code lines, the same after white space is folded, are a duplicate. */
export const DUPLICATE_MIN_LINES = 6;
/** A run standing in more places than this is boilerplate, not a duplicate worth listing. */
const DUPLICATE_MAX_PLACES = 8;

// Not production code: tests and their helpers, benchmarks, scripts, the demo, this folder.
const NOT_PRODUCTION_TOP = new Set(["testing", "bench", "demo", "ops", "docs", "node_modules", ".org", ".git", ".ci", "coverage"]);

export type LongFunction = { file: string; name: string; lines: number };
export type DuplicatePair = { first: string; second: string; lines: number };
export type LintFigures = {
  files: number;
  casts: number;
  indexedCasts: string[];
  mapGetCasts: string[];
  biomeIgnores: string[];
  longFunctions: LongFunction[];
  duplicates: DuplicatePair[];
  /** Where production code keeps state at its top level (`testing/module-state.ts`), one entry each. */
  moduleState: string[];
  /** Where a file of `cli/` does git work itself (`cliGitWork`), as `file:line: what`. */
  cliGitWork: string[];
  /** Lines over the formatter's width in files that are not tests, as `file:line`; and how many there are in tests. */
  longLines: { outsideTests: string[]; inTests: number };
};

/** The production `.ts` and `.tsx` files below `repo`, relative and sorted: not tests, not generated tools, not test-only parts. */
export function productionFiles(repo: string): string[] {
  return typescriptFiles(repo).filter((file) => !file.endsWith(".test.ts") && !NOT_PRODUCTION_TOP.has(file.split("/")[0] ?? ""));
}

type FileFigures = Omit<LintFigures, "files" | "duplicates" | "longLines">;

function functionName(node: ts.Node): string {
  if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isAccessor(node)) && node.name) return node.name.getText();
  if (ts.isConstructorDeclaration(node)) return "constructor";
  const parent = node.parent;
  if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)))
    return parent.name.getText();
  return "(anonymous)";
}

const parse = (file: string, text: string) =>
  ts.createSourceFile(file, text, { languageVersion: ts.ScriptTarget.Latest, jsDocParsingMode: ts.JSDocParsingMode.ParseNone }, true);

type FunctionWithBody = ts.FunctionLikeDeclaration & { body: ts.Node };
const hasBody = (node: ts.Node): node is FunctionWithBody => ts.isFunctionLike(node) && "body" in node && node.body !== undefined;

function figuresOf(file: string, text: string, operations: ReadonlySet<string>): FileFigures {
  const source = parse(file, text);
  const figures: FileFigures = {
    casts: 0,
    indexedCasts: [],
    mapGetCasts: [],
    biomeIgnores: [],
    longFunctions: [],
    moduleState: moduleStateOf(source),
    cliGitWork: file.startsWith("cli/") ? cliGitWork(file, source, operations) : [],
  };
  const lineOf = (position: number) => source.getLineAndCharacterOfPosition(position).line + 1;
  const spanOf = (node: ts.Node) => lineOf(node.getEnd()) - lineOf(node.getStart(source)) + 1;
  const visit = (node: ts.Node) => {
    if (ts.isAsExpression(node) || ts.isTypeAssertionExpression(node)) {
      const isConst = ts.isTypeReferenceNode(node.type) && node.type.typeName.getText() === "const";
      if (!isConst) {
        figures.casts++;
        let inner = node.expression;
        while (ts.isParenthesizedExpression(inner)) inner = inner.expression;
        if (ts.isElementAccessExpression(inner)) figures.indexedCasts.push(file);
        if (ts.isCallExpression(inner) && ts.isPropertyAccessExpression(inner.expression) && inner.expression.name.text === "get")
          figures.mapGetCasts.push(file);
      }
    }
    if (hasBody(node)) {
      const lines = spanOf(node);
      if (lines > LONG_FUNCTION_LINES) figures.longFunctions.push({ file, name: functionName(node), lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  for (const line of text.split("\n")) if (/\/\/\s*biome-ignore\b/.test(line)) figures.biomeIgnores.push(file);
  return figures;
}

/** A line that carries code: not blank, not a comment, not an import, not lone punctuation. */
function codeLine(raw: string): string | undefined {
  const line = raw.trim().replace(/\s+/g, " ");
  if (line === "" || /^(\/\/|\/\*|\*)/.test(line) || /^(import|export \{[^}]*\} from)\b/.test(line) || /^[\s{}()[\];,.:]*$/.test(line))
    return undefined;
  return line;
}

/**
 * Pairs of places that share a run of at least DUPLICATE_MIN_LINES code lines, identical after white space
 * is folded: one pair per two files (the longest run), a file with itself when the run stands twice in it.
 */
export function duplicatePairs(sources: ReadonlyMap<string, string>): DuplicatePair[] {
  const places = new Map<string, { file: string; index: number }[]>();
  const lines = new Map<string, string[]>();
  for (const [file, text] of sources) {
    const code = text.split("\n").flatMap((raw) => codeLine(raw) ?? []);
    lines.set(file, code);
    for (let index = 0; index + DUPLICATE_MIN_LINES <= code.length; index++) {
      const key = code.slice(index, index + DUPLICATE_MIN_LINES).join("\n");
      const list = places.get(key) ?? [];
      list.push({ file, index });
      places.set(key, list);
    }
  }
  const longest = new Map<string, DuplicatePair>();
  for (const list of places.values()) {
    if (list.length < 2 || list.length > DUPLICATE_MAX_PLACES) continue;
    for (let a = 0; a < list.length; a++) {
      for (let b = a + 1; b < list.length; b++) {
        const first = list[a];
        const second = list[b];
        if (!first || !second || (first.file === second.file && second.index - first.index < DUPLICATE_MIN_LINES)) continue;
        const firstLines = lines.get(first.file) ?? [];
        const secondLines = lines.get(second.file) ?? [];
        let run = DUPLICATE_MIN_LINES;
        while (firstLines[first.index + run] !== undefined && firstLines[first.index + run] === secondLines[second.index + run]) run++;
        const [one, two] = first.file <= second.file ? [first.file, second.file] : [second.file, first.file];
        const key = `${one}\n${two}`;
        if ((longest.get(key)?.lines ?? 0) < run) longest.set(key, { first: one, second: two, lines: run });
      }
    }
  }
  return [...longest.values()].sort((x, y) => y.lines - x.lines || x.first.localeCompare(y.first) || x.second.localeCompare(y.second));
}

/**
 * What a command may take from `git/`, by module: the repository handle (`new RepoGit`, `RepoGit.openCheckout`,
 * `RepoGit.isCheckout`: a folder named as a repository, refused when it is none), the installed git's version, and org's
 * ref names and their checks (`ref-names.ts`, which imports nothing: a `--ref` checked before any git loads). Each
 * names a repository, git or a ref; none reads or writes what a repository holds.
 */
const CLI_MAY_TAKE_FROM_GIT: Readonly<Record<string, readonly string[] | "all">> = {
  "git/repo-git.ts": ["RepoGit"],
  "git/installed-git-version.ts": ["installedGitVersion"],
  "git/ref-names.ts": "all",
};

/**
 * The git operations of a `RepoGit`: the methods of the class in `git/repo-git.ts`, but its static ones, which open one,
 * and `run` (raw argv, which testing/git-owner.test.ts keeps inside `git/` for every folder; every runner has a `run`).
 */
function repositoryOperations(source: ts.SourceFile | undefined): Set<string> {
  const operations = new Set<string>();
  for (const statement of source?.statements ?? []) {
    if (!ts.isClassDeclaration(statement) || statement.name?.text !== "RepoGit") continue;
    for (const member of statement.members) {
      const isStatic = (ts.getCombinedModifierFlags(member) & ts.ModifierFlags.Static) !== 0;
      if (ts.isMethodDeclaration(member) && ts.isIdentifier(member.name) && !isStatic && member.name.text !== "run") operations.add(member.name.text);
    }
  }
  return operations;
}

/** The module of `git/` that `specifier` names from `file` (`cli/a/b.ts` and `../../git/x.ts` give `git/x.ts`), or undefined. */
function gitModuleOf(file: string, specifier: string): string | undefined {
  const parts = file.split("/").slice(0, -1);
  for (const part of specifier.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== ".") parts.push(part);
  }
  const path = parts.join("/");
  return path.startsWith("git/") ? path : undefined;
}

/**
 * Where `source`, a file of `cli/`, does git work itself rather than hand a repository to a domain function: a value
 * imported from `git/` other than what `CLI_MAY_TAKE_FROM_GIT` lists, a lazy import of another module of `git/`, a call
 * of one of `operations` (a `RepoGit`'s methods) on anything but the class. A type import runs nothing.
 * Moving refs is held apart, for every folder, by testing/ref-movers.test.ts.
 */
function cliGitWork(file: string, source: ts.SourceFile, operations: ReadonlySet<string>): string[] {
  const found: string[] = [];
  const at = (node: ts.Node, what: string) => found.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}: ${what}`);
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) && node.importClause && !node.importClause.isTypeOnly) {
      const module = gitModuleOf(file, node.moduleSpecifier.text);
      const { name, namedBindings } = node.importClause;
      const allowed = module === undefined ? undefined : CLI_MAY_TAKE_FROM_GIT[module];
      if (module !== undefined && allowed !== "all" && (name || (namedBindings && ts.isNamespaceImport(namedBindings))))
        at(node, `imports ${module} whole`);
      if (module !== undefined && allowed !== "all" && namedBindings && ts.isNamedImports(namedBindings))
        for (const element of namedBindings.elements) {
          const imported = (element.propertyName ?? element.name).text;
          if (!element.isTypeOnly && !allowed?.includes(imported)) at(element, `imports ${imported} from ${module}`);
        }
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [first] = node.arguments;
      const module = first && ts.isStringLiteralLike(first) ? gitModuleOf(file, first.text) : undefined;
      if (module !== undefined && !Object.hasOwn(CLI_MAY_TAKE_FROM_GIT, module)) at(node, `import("${module}")`);
    }
    const callee = ts.isCallExpression(node) ? node.expression : undefined;
    if (callee && ts.isPropertyAccessExpression(callee) && operations.has(callee.name.text) && callee.expression.getText(source) !== "RepoGit")
      at(node, `calls ${callee.expression.getText(source)}.${callee.name.text}`);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Lines over the formatter's width in every `.ts` and `.tsx` file below `repo` (tests apart, counted alone); generated tools never. */
function longLines(repo: string): LintFigures["longLines"] {
  const outsideTests: string[] = [];
  let inTests = 0;
  for (const file of typescriptFiles(repo)) {
    const lines = longLinesOf(readFileSync(join(repo, file), "utf8"));
    if (file.endsWith(".test.ts")) inTests += lines.length;
    else outsideTests.push(...lines.map((line) => `${file}:${line}`));
  }
  return { outsideTests, inTests };
}

/** The figures of the production code below `repo`: pure apart from reading the files. */
export function lintFigures(repo: string): LintFigures {
  const files = productionFiles(repo);
  const sources = new Map(files.map((file) => [file, readFileSync(join(repo, file), "utf8")]));
  const figures: LintFigures = {
    files: files.length,
    casts: 0,
    indexedCasts: [],
    mapGetCasts: [],
    biomeIgnores: [],
    longFunctions: [],
    duplicates: [],
    moduleState: [],
    cliGitWork: [],
    longLines: longLines(repo),
  };
  const repoGit = sources.get("git/repo-git.ts");
  const operations = repositoryOperations(repoGit === undefined ? undefined : parse("git/repo-git.ts", repoGit));
  for (const [file, text] of sources) {
    const one = figuresOf(file, text, operations);
    figures.casts += one.casts;
    figures.indexedCasts.push(...one.indexedCasts);
    figures.mapGetCasts.push(...one.mapGetCasts);
    figures.biomeIgnores.push(...one.biomeIgnores);
    figures.longFunctions.push(...one.longFunctions);
    figures.moduleState.push(...one.moduleState);
    figures.cliGitWork.push(...one.cliGitWork);
  }
  figures.longFunctions.sort((x, y) => y.lines - x.lines || x.file.localeCompare(y.file));
  figures.duplicates = duplicatePairs(sources);
  return figures;
}

/** The file of each `file:line…` entry. */
const fileOf = (entries: string[]) => entries.map((entry) => entry.split(":")[0] ?? entry);

/** Each file once, backticked. */
const where = (files: string[]) => [...new Set(files)].map((file) => `\`${file}\``).join(", ");

/** The Markdown block docs/lint.md carries between its markers: counts and names, no line numbers, so only a real change moves it. */
export function renderLintFigures(figures: LintFigures): string {
  const rows = [
    "| figure | count | where |",
    "| --- | --- | --- |",
    `| \`as\` casts (\`as const\` apart) | ${figures.casts} | |`,
    `| \`x[i] as T\` | ${figures.indexedCasts.length} | ${where(figures.indexedCasts)} |`,
    `| \`x.get(k) as T\` | ${figures.mapGetCasts.length} | ${where(figures.mapGetCasts)} |`,
    `| \`biome-ignore\` comments | ${figures.biomeIgnores.length} | ${where(figures.biomeIgnores)} |`,
    `| functions over ${LONG_FUNCTION_LINES} lines by span | ${figures.longFunctions.length} | ` +
      `${figures.longFunctions.map((f) => `\`${f.file}\` ${f.name}`).join(", ")} |`,
    `| places sharing ${DUPLICATE_MIN_LINES}+ identical code lines | ${figures.duplicates.length} | ` +
      `${figures.duplicates.map((d) => `\`${d.first}\` ~ \`${d.second}\``).join(", ")} |`,
    `| module-level state | ${figures.moduleState.length} | ${where(fileOf(figures.moduleState))} |`,
    `| files in \`cli/\` doing git work themselves | ${new Set(fileOf(figures.cliGitWork)).size} | ${where(fileOf(figures.cliGitWork))} |`,
    `| lines over ${LINE_WIDTH} columns outside tests | ${figures.longLines.outsideTests.length} | ` +
      `${where(fileOf(figures.longLines.outsideTests))} |`,
    `| lines over ${LINE_WIDTH} columns in tests | ${figures.longLines.inTests} | |`,
  ];
  return rows.map((row) => row.replace(/ {2}\|$/, " |")).join("\n");
}

/** The block between the markers in `doc`, or undefined when the markers are missing. */
export function blockIn(doc: string): string | undefined {
  const start = doc.indexOf(BEGIN_MARKER);
  const end = doc.indexOf(END_MARKER);
  if (start === -1 || end < start) return undefined;
  return doc.slice(start + BEGIN_MARKER.length, end).trim();
}

/** `doc` with the block between the markers replaced by `block`. */
export function withBlock(doc: string, block: string): string {
  const start = doc.indexOf(BEGIN_MARKER);
  const end = doc.indexOf(END_MARKER);
  if (start === -1 || end < start)
    throw new Error(
      `docs/lint.md has no ${BEGIN_MARKER} … ${END_MARKER} block: put the two markers back where the figures go, then run ${REFRESH_COMMAND}`,
    );
  return `${doc.slice(0, start + BEGIN_MARKER.length)}\n${block}\n${doc.slice(end)}`;
}

if (import.meta.main) {
  const repo = join(import.meta.dir, "..");
  const block = renderLintFigures(lintFigures(repo));
  console.log(block);
  if (process.argv.includes("--write")) {
    const path = join(repo, "docs", "lint.md");
    writeFileSync(path, withBlock(readFileSync(path, "utf8"), block));
    console.log("docs/lint.md: figures written");
  }
}
