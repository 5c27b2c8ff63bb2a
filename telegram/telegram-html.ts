// Text for Telegram's HTML parse mode. Everything a model, a tool or a server wrote is escaped; the only tags are the
// ones org adds (a bold header, italic notes, code and code blocks from the text's own backticks), always balanced. A
// message's text may be 4 096 characters after entity parsing: longer text is split into parts at line ends, and a code
// block cut by a part's end is closed there and opened again, with its language, in the next part.

/** Characters of text one part holds at most: under Telegram's 4 096, leaving room for what a part adds (a header). */
export const PART_CHARS = 3_900;

/** `&`, `<`, `>` and `"` as the four entities Telegram's HTML mode knows. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (char) => (char === "&" ? "&amp;" : char === "<" ? "&lt;" : char === ">" ? "&gt;" : "&quot;"));
}

/** One line of a message as org lays it out: plain text, a line of a code block (its fence's language), or org's own note. */
export type MessageLine = { kind: "header" | "text" | "note" } | { kind: "code"; block: number; language: string };
/** `joined`: the rest of the line before it, cut because it was longer than a part: no line break between them. */
type Line = MessageLine & { text: string; joined?: true };

const FENCE = /^\s*```\s*([A-Za-z0-9_+#.-]{0,32})\s*$/;

/** Lines of `text` with its ``` fences read as code blocks (a block still open at the end is code to the end). */
export function textLines(text: string, firstBlock = 0): (Line & { kind: "text" | "code" })[] {
  const lines: (Line & { kind: "text" | "code" })[] = [];
  let open: { block: number; language: string } | undefined;
  let block = firstBlock;
  for (const line of text.split("\n")) {
    const fence = FENCE.exec(line);
    if (fence) {
      if (open) open = undefined;
      else {
        open = { block, language: (fence[1] ?? "").replace(/[^A-Za-z0-9_+-]/g, "") };
        block += 1;
      }
      continue;
    }
    lines.push(open ? { kind: "code", ...open, text: line } : { kind: "text", text: line });
  }
  return lines;
}

/** A plain line with its `inline code` and **bold** kept, everything else escaped. */
function inlineHtml(text: string): string {
  return text
    .split(/(`[^`\n]+`|\*\*[^*\n]+\*\*)/)
    .map((piece) => {
      if (piece.length > 2 && piece.startsWith("`") && piece.endsWith("`")) return `<code>${escapeHtml(piece.slice(1, -1))}</code>`;
      if (piece.length > 4 && piece.startsWith("**") && piece.endsWith("**")) return `<b>${escapeHtml(piece.slice(2, -2))}</b>`;
      return escapeHtml(piece);
    })
    .join("");
}

/** One part's lines as HTML: each run of a code block's lines in one `<pre><code>`, opened and closed within the part. */
function partHtml(lines: readonly Line[]): string {
  let out = "";
  let block: { id: number; open: string; run: string } | undefined;
  const closeBlock = () => {
    // An empty block still needs a character: Telegram refuses an empty entity.
    if (block) out += `${block.open}${block.run || " "}</code></pre>`;
    block = undefined;
  };
  for (const [index, line] of lines.entries()) {
    const gap = index === 0 || line.joined ? "" : "\n";
    if (line.kind === "code" && block?.id === line.block) {
      block.run += gap + escapeHtml(line.text);
      continue;
    }
    closeBlock();
    if (line.kind === "code") {
      out += gap;
      const open = line.language === "" ? "<pre><code>" : `<pre><code class="language-${line.language}">`;
      block = { id: line.block, open, run: escapeHtml(line.text) };
      continue;
    }
    out +=
      gap +
      (line.kind === "header" ? `<b>${escapeHtml(line.text)}</b>` : line.kind === "note" ? `<i>${escapeHtml(line.text)}</i>` : inlineHtml(line.text));
  }
  closeBlock();
  return out;
}

/** A line longer than a part, cut into pieces that fit (the same kind of line each). */
function fitted(lines: readonly Line[], limit: number): Line[] {
  return lines.flatMap((line) => {
    if (line.text.length <= limit) return [line];
    const pieces: Line[] = [];
    for (let at = 0; at < line.text.length; at += limit)
      pieces.push({ ...line, text: line.text.slice(at, at + limit), ...(at > 0 ? { joined: true as const } : {}) });
    return pieces;
  });
}

/**
 * A message's lines as HTML parts of at most `limit` characters of text each (Telegram counts the text after its
 * entities are read). Parts are cut at line ends, greedily, so a part once full never changes as more text comes;
 * a continuation starts with `continued` as its header.
 */
export function htmlParts(lines: readonly Line[], options: { limit?: number; continued?: string } = {}): string[] {
  const limit = options.limit ?? PART_CHARS;
  const header = options.continued === undefined ? [] : [{ kind: "header" as const, text: options.continued }];
  const headerChars = options.continued === undefined ? 0 : options.continued.length + 1;
  const parts: Line[][] = [];
  let current: Line[] = [];
  let chars = 0;
  // Lines of the current part that are its header: none in the first part.
  let headed = 0;
  for (const line of fitted(lines, limit - headerChars)) {
    const cost = line.text.length + (current.length > 0 && !line.joined ? 1 : 0);
    if (current.length > 0 && chars + cost > limit) {
      parts.push(current);
      current = [...header];
      headed = header.length;
      chars = headerChars;
    }
    chars += line.text.length + (current.length > 0 && !line.joined ? 1 : 0);
    // A cut line that opens a part starts on a line of its own, after the part's header.
    const { joined, ...rest } = line;
    current.push(current.length === headed || !joined ? rest : line);
  }
  if (current.length > 0) parts.push(current);
  return parts.map(partHtml).map((html) => (html.trim() === "" ? "…" : html));
}
