import type { TranscriptLine } from "../room/transcript-line.ts";

/** One searchable record: a message, a tool call, a tool's result in short, or a saved fact. */
export type MemoryEntry = {
  /** Unique per record, so indexing the same transcript line twice (live, then in a rebuild) stores it once. */
  key: string;
  kind: "message" | "tool-call" | "tool-result" | "fact";
  sessionId?: string;
  factId?: string;
  /** Who said it: "user", a persona, or the persona that saved a fact. */
  persona: string;
  time: string;
  text: string;
  tags: string[];
};

// Memory's own tools are not remembered: a search's call and its quoted results would come back in the next
// search (and a recalled injection would be stored again), and a saved fact is a record of its own.
const NOT_REMEMBERED = new Set(["memory_search", "memory_save"]);

/** The tag of a tool's result that carried words from outside (a page's, an MCP server's): recalled, they still are. */
export const OUTSIDE_TAG = "outside";

// Memory keeps the gist of a tool's work, not every byte it printed.
const CALL_CHARS = 1_000;
const RESULT_CHARS = 600;
const MESSAGE_CHARS = 20_000;

function short(text: string, limit: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= limit ? flat : `${flat.slice(0, limit)}…`;
}

/** The records a transcript line gives (already redacted: the room redacts every event before it is written). */
export function entriesOf(sessionId: string, line: TranscriptLine): MemoryEntry[] {
  switch (line.type) {
    case "message": {
      const { message } = line;
      if (message.text.trim() === "") return [];
      return [
        {
          key: `${sessionId}:m:${message.id}`,
          kind: "message",
          sessionId,
          persona: message.from,
          time: message.time || line.time,
          text: message.text.slice(0, MESSAGE_CHARS),
          tags: [],
        },
      ];
    }
    case "compaction":
      // Org's summary of earlier messages: found by `org memory search` as a message of the persona it was written for.
      return [
        {
          key: `${sessionId}:s:${line.persona}:${line.throughId}`,
          kind: "message",
          sessionId,
          persona: line.persona,
          time: line.time,
          text: `summary of earlier messages: ${line.summary}`.slice(0, MESSAGE_CHARS),
          tags: ["summary"],
        },
      ];
    case "tool-call":
      return toolEntries(sessionId, line, "c", short(`${line.call.name} ${JSON.stringify(line.call.arguments)}`, CALL_CHARS));
    case "tool-result":
      return toolEntries(sessionId, line, "r", short(`${line.call.name} ${line.ok ? "ok" : "failed"}: ${line.output}`, RESULT_CHARS));
    default:
      return [];
  }
}

/** The one record of a tool call (`c`) or of its result (`r`); none for memory's own tools. */
function toolEntries(
  sessionId: string,
  line: Extract<TranscriptLine, { type: "tool-call" | "tool-result" }>,
  mark: "c" | "r",
  text: string,
): MemoryEntry[] {
  if (NOT_REMEMBERED.has(line.call.name)) return [];
  const outside = line.type === "tool-result" && line.outsideFrom !== undefined;
  return [
    {
      key: `${sessionId}:${mark}:${line.replyId}:${line.call.id}`,
      kind: mark === "c" ? "tool-call" : "tool-result",
      sessionId,
      persona: line.persona,
      time: line.time,
      text,
      tags: outside ? [line.call.name, OUTSIDE_TAG] : [line.call.name],
    },
  ];
}
