// The scripted server playing the summariser, as a small model would: offered `write_summary`, it reads the messages
// it is given (`[who]` blocks between `<<<messages>>>` and `<<<end of messages>>>`, after an `<<<earlier summary>>>`)
// and calls the tool with sentences picked by rule: the user's asks, sentences stating facts, decisions, file paths,
// commands with how they ended, questions still open. Deterministic, so tests and the demo show a real compaction.
import type { Reply } from "./script.ts";

/** The tool the summariser is offered (personas/write-summary.ts). */
export const WRITE_SUMMARY_TOOL = "write_summary";

/** How much of each section a small model keeps: the earliest facts and decisions, the newest asks and commands. */
const KEEP = { asks: 3, decisions: 6, facts: 12, files: 10, commands: 5, open: 3 } as const;

type Sections = {
  asks: string[];
  decisions: string[];
  facts: string[];
  files: string[];
  commands: { command: string; outcome: string }[];
  open: string[];
};

/** The longest line it writes (write_summary takes 600 characters a line, a command 300): a longer sentence is cut at a word. */
const LINE_CHARS = 300;

/** `text` within LINE_CHARS, cut at the last space before the limit and marked with "…". */
function clip(text: string): string {
  if (text.length <= LINE_CHARS) return text;
  const space = text.lastIndexOf(" ", LINE_CHARS - 1);
  return `${text.slice(0, space > LINE_CHARS / 2 ? space : LINE_CHARS - 1)}…`;
}

/** A sentence ends at `.`, `!` or `?` before white space or the line's end (so `deploy.sh` and `3.5` stay whole). */
const SENTENCE = /[^\n]+?(?:[.!?](?=\s|$)|$)/gm;
const FILE = /(?<![\w/.-])((?:[\w.-]+\/)+[\w.-]+|[\w-]+\.(?:ts|js|json|md|txt|py|sh|toml|yaml|yml|csv|log|html|css|go|rs|c|h))(?![\w/])/g;
const FACT = /\b(?:is|are|was|were|has|have|uses?|runs?|lives?|costs?|equals?|means?)\b|\d/i;
const DECISION = /\b(?:decided|we will|we'll|let's|agreed|going with|chose)\b/i;

/** The `[who]` blocks of the messages part, and the earlier summary's lines. */
function readInput(text: string): { blocks: { who: string; text: string }[]; earlier: string[] } {
  const earlierPart = /<<<earlier summary>>>\n([\s\S]*?)(?:\n\n<<<messages>>>|$)/.exec(text)?.[1] ?? "";
  const messagesPart = /<<<messages>>>\n([\s\S]*?)\n<<<end of messages>>>/.exec(text)?.[1] ?? "";
  const blocks: { who: string; text: string }[] = [];
  for (const line of messagesPart.split("\n")) {
    const who = /^\[([^\]\n]+)\]$/.exec(line)?.[1];
    const block = blocks.at(-1);
    if (who !== undefined) blocks.push({ who, text: "" });
    else if (block) block.text = block.text === "" ? line : `${block.text}\n${line}`;
  }
  return { blocks, earlier: earlierPart.split("\n").filter((line) => line.startsWith("- ")) };
}

/** The earlier summary's lines back into sections, so what it held is carried forward. */
function carried(lines: readonly string[]): Sections {
  const sections: Sections = { asks: [], decisions: [], facts: [], files: [], commands: [], open: [] };
  for (const line of lines) {
    const [, kind = "", rest = ""] = /^- (asked|decided|fact|file|ran|open): (.*)$/.exec(line) ?? [];
    if (kind === "asked") sections.asks.push(rest);
    else if (kind === "decided") sections.decisions.push(rest);
    else if (kind === "fact") sections.facts.push(rest);
    else if (kind === "file") sections.files.push(rest);
    else if (kind === "open") sections.open.push(rest);
    else if (kind === "ran") {
      const [command = rest, outcome = ""] = rest.split(" → ");
      sections.commands.push({ command, outcome });
    }
  }
  return sections;
}

const unique = <T>(items: readonly T[], key: (item: T) => string = String): T[] => {
  const seen = new Set<string>();
  return items.filter((item) => !seen.has(key(item)) && seen.add(key(item)) !== undefined);
};

/** The `write_summary` arguments for a summariser request's text. */
export function summaryArguments(text: string): Record<string, unknown> {
  const { blocks, earlier } = readInput(text);
  const sections = carried(earlier);
  for (const block of blocks) {
    const sentences = (block.text.match(SENTENCE) ?? []).map((sentence) => sentence.trim()).filter((sentence) => sentence.length > 3);
    const fromUser = block.who === "user";
    for (const sentence of sentences) {
      if (fromUser && sentence.endsWith("?")) sections.open.push(clip(sentence));
      if (DECISION.test(sentence)) sections.decisions.push(clip(sentence));
      else if (FACT.test(sentence) && sentence.length <= 200) sections.facts.push(sentence);
    }
    if (fromUser && sentences[0]) sections.asks.push(clip(sentences[0]));
    for (const match of block.text.matchAll(FILE)) if (match[1]) sections.files.push(match[1]);
    for (const match of block.text.matchAll(/^\$ (.+)$|`([^`\n]+)`/gm)) {
      const command = (match[1] ?? match[2] ?? "").trim();
      // A command is kept exactly as written or not at all.
      if (!/\s/.test(command) || command.length > LINE_CHARS) continue;
      const after =
        block.text
          .slice((match.index ?? 0) + match[0].length)
          .split("\n")
          .find((line) => line.trim() !== "") ?? "";
      sections.commands.push({ command, outcome: after.trim().slice(0, 120) });
    }
  }
  return {
    asks: unique(sections.asks).slice(-KEEP.asks),
    decisions: unique(sections.decisions).slice(0, KEEP.decisions),
    facts: unique(sections.facts).slice(0, KEEP.facts),
    files: unique(sections.files).slice(0, KEEP.files),
    commands: unique(sections.commands, (command) => command.command).slice(-KEEP.commands),
    open_questions: unique(sections.open).slice(-KEEP.open),
  };
}

/** Whether a request asks for a summary: it offers `write_summary`. */
export function asksForSummary(toolNames: readonly string[] | undefined): boolean {
  return toolNames?.includes(WRITE_SUMMARY_TOOL) === true;
}

/** The reply to a summariser request: one `write_summary` call, worked out from its user messages' text. */
export function summaryReply(text: string): Reply {
  return {
    toolCalls: [{ name: WRITE_SUMMARY_TOOL, arguments: summaryArguments(text) }],
    wire: "ollama-new",
    chunkSize: 64,
    delayMs: 0,
    firstByteDelayMs: 0,
    usage: true,
  };
}
