import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";

/**
 * Lines over the formatter's width that the formatter cannot break, and the mechanical change that breaks them: a
 * comment line wrapped at a space, a string or template literal split at a space into two joined with `+`. `npm run
 * format` runs this between two passes of `biome format`, so a tree is brought to the width in one command.
 */

/** The width `biome.jsonc` sets (`lineWidth`); a line is measured in characters (code points). */
export const LINE_WIDTH = 150;

// Folders with no code of org's to measure: what a model wrote, installed packages, state.
const SKIPPED_TOP = new Set(["node_modules", ".org", ".git", ".ci", "coverage"]);

/** Every `.ts` and `.tsx` file below `repo` (tests too; not generated tools), relative and sorted. */
export function typescriptFiles(repo: string): string[] {
  const found: string[] = [];
  const walk = (directory: string) => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name);
      const rel = relative(repo, path);
      if (SKIPPED_TOP.has(rel.split("/")[0] ?? "") || rel === join("tools", "generated") || entry.name === "node_modules") continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && (entry.name.endsWith(".ts") || entry.name.endsWith(".tsx"))) found.push(rel);
    }
  };
  walk(repo);
  return found.sort();
}

const width = (line: string) => [...line].length;

/** The lines of `text` over LINE_WIDTH, as 1-based line numbers. */
export function longLinesOf(text: string): number[] {
  return text.split("\n").flatMap((line, index) => (width(line) > LINE_WIDTH ? [index + 1] : []));
}

/** Where a piece of a split line should end: room for the indentation and the ` +` the formatter adds. */
const PIECE = LINE_WIDTH - 40;

type Literal = ts.StringLiteral | ts.NoSubstitutionTemplateLiteral | ts.TemplateExpression | ts.TaggedTemplateExpression;

/** `String.raw`…``: the one tag whose template may be split in two (the raw text of both is the raw text of the whole). */
const isRawTag = (node: ts.TaggedTemplateExpression) => node.tag.getText() === "String.raw";

/** Whether a literal stands where an expression may be joined with `+` (not a type, a key, an import, a directive). */
function splittable(node: Literal): boolean {
  if (ts.isTaggedTemplateExpression(node)) return isRawTag(node);
  const parent = node.parent;
  if (ts.isTaggedTemplateExpression(parent) || ts.isLiteralTypeNode(parent) || ts.isImportDeclaration(parent) || ts.isExportDeclaration(parent))
    return false;
  if (ts.isExternalModuleReference(parent) || ts.isImportTypeNode(parent) || ts.isModuleDeclaration(parent) || ts.isEnumMember(parent)) return false;
  if (
    (ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent) || ts.isPropertySignature(parent) || ts.isMethodDeclaration(parent)) &&
    parent.name === node
  )
    return false;
  // A directive such as "use strict".
  if (ts.isExpressionStatement(parent)) return false;
  return true;
}

/**
 * The positions of a literal's source where it may be cut in two, each with whether it follows a space: inside its
 * text (not inside `${…}`, not inside an escape), at least one character from either end.
 */
function cutPoints(node: Literal, source: ts.SourceFile): { at: number; space: boolean }[] {
  const text = source.text;
  const template = ts.isTaggedTemplateExpression(node) ? node.template : node;
  const ranges: [number, number][] = [];
  if (ts.isTemplateExpression(template)) {
    ranges.push([template.head.getStart(source) + 1, template.head.getEnd() - 2]);
    for (const span of template.templateSpans)
      ranges.push([span.literal.getStart(source) + 1, span.literal.getEnd() - (ts.isTemplateTail(span.literal) ? 1 : 2)]);
  } else ranges.push([template.getStart(source) + 1, template.getEnd() - 1]);
  const first = ranges[0]?.[0] ?? 0;
  const last = ranges.at(-1)?.[1] ?? 0;
  const points: { at: number; space: boolean }[] = [];
  for (const [from, to] of ranges) {
    for (let at = from; at <= to; at += 1) {
      if (text[at] === "\\") {
        // An escape is never cut: skip it whole (`\u{…}` and `\x..` included).
        const braced = text[at + 1] === "u" && text[at + 2] === "{" ? text.indexOf("}", at) : -1;
        at = braced !== -1 ? braced : text[at + 1] === "u" ? at + 5 : text[at + 1] === "x" ? at + 3 : at + 1;
        continue;
      }
      if (at > first && at < last) points.push({ at, space: text[at - 1] === " " });
    }
  }
  return points;
}

/** Whether the literal is an operand of something that binds tighter than `+` (`x.length`, `!x`, `x as T`). */
function bindsTighter(node: Literal): boolean {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) || ts.isElementAccessExpression(parent)) return parent.expression === node;
  if (ts.isCallExpression(parent) || ts.isNewExpression(parent)) return parent.expression === node;
  return (
    ts.isTaggedTemplateExpression(parent) ||
    ts.isPrefixUnaryExpression(parent) ||
    ts.isPostfixUnaryExpression(parent) ||
    ts.isTypeOfExpression(parent) ||
    ts.isVoidExpression(parent) ||
    ts.isDeleteExpression(parent) ||
    ts.isAsExpression(parent) ||
    ts.isSatisfiesExpression(parent) ||
    ts.isNonNullExpression(parent)
  );
}

/** `text` with one cut made in the literal that crosses the width on the 0-based `line`, or undefined when none can be. */
function splitLiteralOn(text: string, source: ts.SourceFile, line: number): string | undefined {
  const lineStart = source.getPositionOfLineAndCharacter(line, 0);
  const lineEnd = text.indexOf("\n", lineStart) === -1 ? text.length : text.indexOf("\n", lineStart);
  // The column a cut is measured at: characters, not UTF-16 units.
  const column = (at: number) => [...text.slice(lineStart, at)].length;
  let best: { node: Literal; at: number; score: number } | undefined;
  const visit = (node: ts.Node) => {
    if (node.getEnd() < lineStart || node.getStart(source) > lineEnd) return;
    const literal =
      ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateExpression(node) || ts.isTaggedTemplateExpression(node);
    if (literal && splittable(node)) {
      for (const point of cutPoints(node, source)) {
        if (point.at <= lineStart || point.at >= lineEnd) continue;
        const at = column(point.at);
        if (at > LINE_WIDTH - 4) continue;
        // Best: after a space within PIECE; then any cut within PIECE; then after a space, then any cut, up to the width.
        const score = (at <= PIECE ? 2 : 0) + (point.space ? 1 : 0) + at / 1000;
        if (!best || score > best.score) best = { node, at: point.at, score };
      }
    }
    if (!(ts.isTaggedTemplateExpression(node) && isRawTag(node))) ts.forEachChild(node, visit);
  };
  visit(source);
  if (!best) return undefined;
  const { node, at } = best;
  const start = node.getStart(source);
  const open = ts.isTaggedTemplateExpression(node) ? `${node.tag.getText(source)}\`` : ts.isStringLiteral(node) ? (text[start] ?? '"') : "`";
  const close = ts.isStringLiteral(node) ? (text[start] ?? '"') : "`";
  // Each half a literal of its own; in parentheses where what holds the literal binds tighter than `+`.
  const [before, after] = bindsTighter(node) ? ["(", ")"] : ["", ""];
  return (
    `${text.slice(0, start)}${before}${text.slice(start, at)}${close} ` +
    `+\n${open}${text.slice(at, node.getEnd())}${after}${text.slice(node.getEnd())}`
  );
}

/**
 * A piece of a pattern as raw template literals joined with `+`: a backtick, which no raw template can hold, goes as a
 * string of its own (with the backslash that escapes it, when one does), and `${` is cut between its two characters.
 */
function rawTemplates(piece: string): string {
  // Raw only where a backslash needs it (biome calls a needless String.raw useless).
  const template = (text: string) => (text.includes("\\") ? `String.raw\`${text}\`` : `\`${text}\``);
  const parts: string[] = [];
  let current = "";
  for (let at = 0; at < piece.length; at += 1) {
    const character = piece[at] ?? "";
    if (character === "`") {
      const escaped = (/\\*$/.exec(current)?.[0].length ?? 0) % 2 === 1;
      if (escaped) current = current.slice(0, -1);
      parts.push(template(current), escaped ? '"\\\\`"' : '"`"');
      current = "";
    } else if (character === "{" && current.endsWith("$")) {
      parts.push(template(current));
      current = "{";
    } else current += character;
  }
  if (current !== "" || parts.length === 0) parts.push(template(current));
  return parts.join(" + ");
}

/**
 * A regular expression literal that crosses the width on the 0-based `line`, written as `new RegExp` of raw pieces cut
 * after a `|` where it can be (else anywhere but inside an escape): the same source and flags. Undefined when none
 * crosses it.
 */
function splitRegexOn(text: string, source: ts.SourceFile, line: number): string | undefined {
  const lineStart = source.getPositionOfLineAndCharacter(line, 0);
  const lineEnd = text.indexOf("\n", lineStart) === -1 ? text.length : text.indexOf("\n", lineStart);
  let found: ts.RegularExpressionLiteral | undefined;
  const visit = (node: ts.Node) => {
    if (found || node.getEnd() < lineStart || node.getStart(source) > lineEnd) return;
    if (ts.isRegularExpressionLiteral(node) && node.getEnd() - lineStart > LINE_WIDTH) found = node;
    else ts.forEachChild(node, visit);
  };
  visit(source);
  if (!found) return undefined;
  const literal = found.getText(source);
  const slash = literal.lastIndexOf("/");
  const flags = literal.slice(slash + 1);
  const pieces: string[] = [];
  let rest = literal.slice(1, slash);
  while ([...rest].length > PIECE) {
    let cut = -1;
    let lastSafe = -1;
    for (let at = 1; at < rest.length && at <= PIECE; at += 1) {
      const backslashes = /\\*$/.exec(rest.slice(0, at))?.[0].length ?? 0;
      if (backslashes % 2 === 1) continue;
      lastSafe = at;
      if (rest[at - 1] === "|") cut = at;
    }
    const at = cut > PIECE / 2 ? cut : lastSafe;
    if (at <= 0) break;
    pieces.push(rest.slice(0, at));
    rest = rest.slice(at);
  }
  pieces.push(rest);
  const start = found.getStart(source);
  const pattern = pieces.map(rawTemplates).join(" +\n");
  return `${text.slice(0, start)}new RegExp(${pattern}${flags ? `, ${JSON.stringify(flags)}` : ""})${text.slice(found.getEnd())}`;
}

/** A comment line over the width wrapped at its last space that fits, the rest on a line of its own with the same prefix. */
function wrapCommentLine(line: string): string | undefined {
  // A suppression must stay one line, directly above what it suppresses: shorten its reason by hand.
  if (/\/\/\s*biome-ignore/.test(line)) return undefined;
  const prefix = /^(\s*)(\/\/ |\* |\/\*\* )/.exec(line);
  if (!prefix) return undefined;
  const lead = prefix[1] ?? "";
  const mark = prefix[2] === "/** " ? " * " : (prefix[2] ?? "");
  const chars = [...line];
  let cut = -1;
  for (let at = LINE_WIDTH; at > (prefix[0]?.length ?? 0) + 8; at -= 1) {
    if (chars[at] === " ") {
      cut = at;
      break;
    }
  }
  if (cut === -1) return undefined;
  const closing = line.trimEnd().endsWith("*/") && prefix[2] === "/** ";
  const first = chars.slice(0, cut).join("").trimEnd();
  const rest = chars.slice(cut + 1).join("");
  if (closing) return `${first}\n${lead}${mark}${rest.replace(/\s*\*\/$/, "")}\n${lead} */`;
  return `${first}\n${lead}${mark}${rest}`;
}

/** `text` with every line over the width that a comment wrap or a literal split can shorten changed once; the same text when none can. */
export function wrapLongLines(file: string, text: string): string {
  const lines = text.split("\n");
  const long = longLinesOf(text);
  if (long.length === 0) return text;
  // Comments first (line by line, no parse needed), then literals, each split needing a fresh parse.
  let changed = false;
  for (const number of long) {
    const wrapped = wrapCommentLine(lines[number - 1] ?? "");
    if (wrapped !== undefined) {
      lines[number - 1] = wrapped;
      changed = true;
    }
  }
  let result = lines.join("\n");
  if (changed) return result;
  for (const number of longLinesOf(result).reverse()) {
    const source = ts.createSourceFile(file, result, ts.ScriptTarget.Latest, true);
    const split = splitLiteralOn(result, source, number - 1) ?? splitRegexOn(result, source, number - 1);
    if (split !== undefined) result = split;
  }
  return result;
}

/**
 * Brings the tree at `repo` to the width: one pass of the wrap over every file, then the formatter over the files it
 * changed, until a pass changes nothing (or after a few). Returns the lines still over the width, by file.
 */
export function wrapTree(repo: string, biome: string): Map<string, number[]> {
  const format = (files: string[]) => {
    const formatted = Bun.spawnSync([biome, "format", "--write", ...files], { cwd: repo, stdout: "ignore", stderr: "pipe" });
    if (formatted.exitCode !== 0) throw new Error(`biome format failed on the wrapped files: ${formatted.stderr.toString().slice(0, 2000)}`);
  };
  const touched = new Set<string>();
  for (let pass = 0; pass < 6; pass += 1) {
    const changed: string[] = [];
    // Tests keep what they assert as written: the formatter lays them out, nothing splits their literals.
    for (const file of typescriptFiles(repo).filter((name) => !name.endsWith(".test.ts"))) {
      const path = join(repo, file);
      const text = readFileSync(path, "utf8");
      const wrapped = wrapLongLines(file, text);
      if (wrapped === text) continue;
      writeFileSync(path, wrapped);
      changed.push(file);
      touched.add(file);
    }
    if (changed.length === 0) break;
    format(changed);
  }
  // The formatter settles some layouts only on a second look (a chain it broke for a long line that is now short).
  if (touched.size > 0) format([...touched]);
  const left = new Map<string, number[]>();
  for (const file of typescriptFiles(repo)) {
    const lines = longLinesOf(readFileSync(join(repo, file), "utf8"));
    if (lines.length > 0) left.set(file, lines);
  }
  return left;
}

if (import.meta.main) {
  const repo = process.argv[2] ?? join(import.meta.dir, "..");
  const left = wrapTree(repo, join(import.meta.dir, "..", "node_modules", ".bin", "biome"));
  for (const [file, lines] of left) console.log(`${file}: ${lines.join(", ")}`);
  console.log(`lines over ${LINE_WIDTH} columns: ${[...left.values()].reduce((sum, lines) => sum + lines.length, 0)}`);
}
