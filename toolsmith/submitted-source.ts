// Small models wrap the source they submit: prose and a markdown fence, a JSON-encoded string, literal `\n`
// escapes, a `<think>` block, a bare `typescript` line, a named export where a default one is asked for. Where
// the intent is unambiguous the source is taken out; where it is not, the model is told exactly what to send.
import { ts } from "./typescript-api.ts";

/** The file a `code` argument is meant to be. */
export type SourceFile = "tool.ts" | "tool.test.ts";

/** What was made of a `code` argument: the source and the habits undone, or what to ask the model for instead. */
export type SourceReading = { ok: true; code: string; habits: string[] } | { ok: false; problem: string };

/** Whether TypeScript's parser reads `code` without a syntax error. */
export function parsesAsTypeScript(code: string): boolean {
  const source = ts.createSourceFile("submitted.ts", code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  return ((source as unknown as { parseDiagnostics?: readonly unknown[] }).parseDiagnostics ?? []).length === 0;
}

type Fence = { language: string; body: string; closed: boolean };

// As in Markdown: a fence opens at the start of a line (at most three spaces in) with ``` or ~~~ and a word.
const FENCE_LINE = /^ {0,3}(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^\n`]*$/;

/** The fenced blocks of `text` (an unclosed last fence runs to the end), and whether anything else is outside them. */
function fencedBlocks(text: string): { blocks: Fence[]; outside: string } {
  const lines = text.split("\n");
  const blocks: Fence[] = [];
  const outside: string[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const current = lines[index] ?? "";
    const open = FENCE_LINE.exec(current);
    if (!open) {
      outside.push(current);
      continue;
    }
    const marker = open[1] ?? "```";
    const body: string[] = [];
    let closed = false;
    for (index += 1; index < lines.length; index += 1) {
      const line = lines[index] ?? "";
      if (new RegExp(`^ {0,3}${marker[0] === "`" ? "`" : "~"}{${marker.length},}[ \\t]*$`).test(line)) {
        closed = true;
        break;
      }
      body.push(line);
    }
    blocks.push({ language: (open[2] ?? "").toLowerCase(), body: closed ? `${body.join("\n")}\n` : body.join("\n"), closed });
  }
  return { blocks, outside: outside.join("\n").trim() };
}

const CODE_LANGUAGES = new Set(["", "ts", "typescript", "tsx", "js", "javascript", "mjs", "jsx"]);
const LANGUAGE_LINE = /^\s*(typescript|ts|tsx|javascript|js)\s*\n/i;
const THINK_BLOCK = /^\s*<think>[\s\S]*?<\/think>\s*/;
const GO_ESCAPES: Record<string, string> = { "\\u003c": "<", "\\u003e": ">", "\\u0026": "&" };

/** `text` as a JSON string literal's value, when it is one. */
function jsonStringValue(text: string): string | undefined {
  const trimmed = text.trim();
  if (!(trimmed.startsWith('"') && trimmed.endsWith('"'))) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/** One-line code whose newlines arrived as `\n` escapes (and its quotes as `\"`). */
function unescapedOneLiner(text: string): string {
  return text.replace(/\\(["\\nrt])/g, (_match, escaped: string) => ({ n: "\n", r: "", t: "\t", '"': '"', "\\": "\\" })[escaped] ?? escaped);
}

/** The one exported function, class or const of `code` when it has no default export, as a name. */
function soleNamedExport(code: string): string | undefined {
  if (/^\s*export\s+default\b/m.test(code) || /^\s*export\s*\{[^}]*\bdefault\b/m.test(code)) return undefined;
  const names = [...code.matchAll(/^\s*export\s+(?:async\s+)?(?:function\s*\*?|const|let|class)\s+([A-Za-z_$][\w$]*)/gm)].flatMap((match) =>
    match[1] === undefined ? [] : [match[1]],
  );
  return names.length === 1 ? names[0] : undefined;
}

const sendPlain = (file: SourceFile) =>
  `Send ${file}'s whole source as the code string, as plain TypeScript: no markdown fence, no prose before or after it, not JSON-encoded.`;

/**
 * Reads a submitted `code` argument as `file`'s source. Source that parses is left alone (only CRLF line ends
 * become LF); otherwise each known habit is undone while the result is unambiguous.
 */
export function readSubmittedSource(raw: string, file: SourceFile): SourceReading {
  const habits: string[] = [];
  let code = raw;
  if (code.includes("\r")) {
    code = code.replace(/\r\n?/g, "\n");
    habits.push("CRLF line ends");
  }
  const undo = (habit: string, next: string) => {
    code = next;
    habits.push(habit);
  };
  // A JSON string literal and a bare `typescript` line parse as TypeScript (an expression statement), and so
  // do "```\n…\n```" and "Label:\n```…```" (template literals): these are taken for what they are anyway.
  const unquoted = jsonStringValue(code);
  if (unquoted !== undefined) undo("a JSON-encoded string", unquoted.replace(/\r\n?/g, "\n"));
  const edges = code.trim().split("\n");
  const fencedAtEdge = FENCE_LINE.test(edges[0] ?? "") || FENCE_LINE.test(edges.at(-1) ?? "");
  if (fencedAtEdge || !parsesAsTypeScript(code)) {
    const think = THINK_BLOCK.exec(code);
    if (think) undo("a <think> block before the code", code.slice(think[0].length));
    const { blocks, outside } = fencedBlocks(code);
    const codeBlocks = blocks.filter((block) => CODE_LANGUAGES.has(block.language) && block.body.trim() !== "");
    if (codeBlocks.length > 1) {
      return {
        ok: false,
        problem: `your code argument holds ${codeBlocks.length} fenced markdown blocks, so it is not clear which one is ${file}. ${sendPlain(file)}`,
      };
    }
    const [block] = codeBlocks;
    if (codeBlocks.length === 1 && block) {
      const fence = `a ${block.language ? `\`\`\`${block.language}` : "bare ```"} fence${block.closed ? "" : " left open"}`;
      undo(outside ? `${fence} with prose around it` : fence, block.body);
    } else if (blocks.length > 0) {
      return {
        ok: false,
        problem:
          `your code argument holds a fenced block that is not TypeScript ` +
          `(${blocks.map((block) => block.language || "no language").join(", ")}). ${sendPlain(file)}`,
      };
    }
  }
  const language = LANGUAGE_LINE.exec(code);
  if (language) undo(`a leading '${(language[1] ?? "").toLowerCase()}' line`, code.slice(language[0].length));
  if (!parsesAsTypeScript(code)) {
    if (!code.trim().includes("\n") && /\\n/.test(code) && !parsesAsTypeScript(code)) {
      const unescaped = unescapedOneLiner(code);
      if (parsesAsTypeScript(unescaped)) undo("newlines sent as \\n escapes", unescaped);
    }
    if (/\\u00(?:3c|3e|26)/i.test(code) && !parsesAsTypeScript(code)) {
      const decoded = code.replace(/\\u00(?:3c|3e|26)/gi, (sequence) => GO_ESCAPES[sequence.toLowerCase()] ?? sequence);
      if (parsesAsTypeScript(decoded)) undo("<, > and & sent as \\u003c escapes", decoded);
    }
  }
  if (file === "tool.ts") {
    const exported = soleNamedExport(code);
    if (exported) undo(`a named export (${exported}) where a default export is asked for`, `${code.trimEnd()}\n\nexport default ${exported};\n`);
    else if (!/\bexport\b/.test(code) && /^\s*module\.exports\s*=/m.test(code)) {
      undo("module.exports where a default export is asked for", code.replace(/^(\s*)module\.exports\s*=/m, "$1export default"));
    }
  }
  if (code.trim() === "") return { ok: false, problem: `your code argument holds no source. ${sendPlain(file)}` };
  return { ok: true, code, habits };
}
