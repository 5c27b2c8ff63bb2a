import { z } from "zod";
import { errorCode } from "../concurrency/error-code.ts";
import { appendPrivateFile, readPrivateFile, writePrivateFile } from "../security/private-state.ts";
import type { MemoryEntry } from "./memory-entry.ts";

/**
 * A fact a persona saved (or the observer learned about the person: `persona` "observer", with the person's own words it
 * rests on, `quote`, and the message they were said in), as facts.jsonl keeps it. `confirmed`: how many times the
 * observer proposed it again.
 */
export type SavedFact = {
  id: string;
  text: string;
  tags: string[];
  persona: string;
  sessionId?: string;
  time: string;
  quote?: string;
  messageId?: string;
  confirmed?: number;
};

/** A line of facts.jsonl: a saved fact, or what was forgotten. */
export const FactLine = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("fact"),
    id: z.string(),
    text: z.string(),
    tags: z.array(z.string()),
    persona: z.string(),
    sessionId: z.string().optional(),
    time: z.string(),
    quote: z.string().optional(),
    messageId: z.string().optional(),
  }),
  z.object({ type: z.literal("confirm-fact"), id: z.string(), time: z.string() }),
  z.object({ type: z.literal("forget-fact"), id: z.string(), time: z.string() }),
  z.object({ type: z.literal("forget-session"), sessionId: z.string(), time: z.string() }),
]);
export type FactLine = z.infer<typeof FactLine>;

/** facts.jsonl: the append-only log of saved facts and of what was forgotten, the one copy memory keeps itself. */
export class FactLog {
  constructor(readonly path: string) {}

  /** The saved facts still remembered, the forgotten sessions, and how many lines could not be read. */
  read(): { facts: SavedFact[]; forgottenSessions: string[]; damagedLines: number } {
    let log: string;
    try {
      log = readPrivateFile(this.path);
    } catch (error) {
      if (errorCode(error) === "ENOENT") return { facts: [], forgottenSessions: [], damagedLines: 0 };
      throw error;
    }
    const facts = new Map<string, SavedFact>();
    const forgottenSessions = new Set<string>();
    let damagedLines = 0;
    for (const text of log.split("\n")) {
      if (text.trim() === "") continue;
      let line: FactLine;
      try {
        line = FactLine.parse(JSON.parse(text));
      } catch {
        damagedLines += 1;
        continue;
      }
      if (line.type === "fact") {
        const { type: _type, ...fact } = line;
        facts.set(line.id, fact);
      } else if (line.type === "confirm-fact") {
        const fact = facts.get(line.id);
        if (fact) fact.confirmed = (fact.confirmed ?? 0) + 1;
      } else if (line.type === "forget-fact") facts.delete(line.id);
      else forgottenSessions.add(line.sessionId);
    }
    return { facts: [...facts.values()], forgottenSessions: [...forgottenSessions], damagedLines };
  }

  /** Appends one line to the log. */
  append(line: FactLine): void {
    appendPrivateFile(this.path, `${JSON.stringify(line)}\n`);
  }

  /**
   * Rewrites facts.jsonl with only the lines `keep` accepts, and `marker` (what was forgotten) at the end:
   * written beside it, fsynced and renamed over it, so a crash leaves the old log or the new one. A damaged
   * line goes too (it may be a torn copy of what is forgotten). A line another process appended meanwhile
   * makes it start over, so none is lost.
   */
  rewrite(keep: (line: FactLine) => boolean, marker: FactLine): void {
    const read = () => {
      try {
        return readPrivateFile(this.path);
      } catch (error) {
        if (errorCode(error) === "ENOENT") return "";
        throw error;
      }
    };
    for (let attempt = 0; ; attempt += 1) {
      const before = read();
      const kept = before.split("\n").filter((text) => {
        if (text.trim() === "") return false;
        try {
          return keep(FactLine.parse(JSON.parse(text)));
        } catch {
          return false;
        }
      });
      const text = [...kept, JSON.stringify(marker)].map((line) => `${line}\n`).join("");
      if (read() !== before && attempt < 5) continue;
      writePrivateFile(this.path, text, { durable: true });
      return;
    }
  }
}

/** A saved fact as the index records it. */
export function factEntry(fact: SavedFact): MemoryEntry {
  return {
    key: `fact:${fact.id}`,
    kind: "fact",
    factId: fact.id,
    ...(fact.sessionId !== undefined ? { sessionId: fact.sessionId } : {}),
    persona: fact.persona,
    time: fact.time,
    text: fact.text,
    tags: fact.tags.map((tag) => tag.replace(/\s+/g, "_")),
  };
}
