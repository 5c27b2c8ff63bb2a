import { dirname } from "node:path";
import { z } from "zod";
import { errorCode } from "../concurrency/error-code.ts";
import { lineSealer } from "../config/line-seal.ts";
import { workspaceKey } from "../config/trust-store.ts";
import { userOrgDir } from "../config/user-org-dir.ts";
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

/** Where a line is sealed for: its kind and the fact (or session) it is about. */
function sealedFor(line: FactLine): string {
  return `${line.type} ${line.type === "forget-session" ? line.sessionId : line.id}`;
}

/**
 * facts.jsonl: the append-only log of saved facts and of what was forgotten, the one copy memory keeps itself. Each line
 * org appends is sealed under the user's key for this workspace, so what reaches every prompt (the profile) can be told
 * from what a clone or an archive brought: `sealed` lists the facts whose lines (and confirmations) org wrote here.
 */
export class FactLog {
  constructor(readonly path: string) {}

  #sealer(create: boolean) {
    return lineSealer(userOrgDir(), `facts in ${workspaceKey(dirname(this.path))}`, create);
  }

  /**
   * The saved facts still remembered, the forgotten sessions, how many lines could not be read, and the ids of the facts
   * org sealed here (`confirmed` counts only sealed confirmations for them).
   */
  read(): { facts: SavedFact[]; forgottenSessions: string[]; damagedLines: number; sealed: string[] } {
    let log: string;
    try {
      log = readPrivateFile(this.path);
    } catch (error) {
      if (errorCode(error) === "ENOENT") return { facts: [], forgottenSessions: [], damagedLines: 0, sealed: [] };
      throw error;
    }
    const sealer = this.#sealer(false);
    const sealed = new Set<string>();
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
      const holds = sealer?.holds(sealedFor(line), text.trim()) ?? false;
      if (line.type === "fact") {
        const { type: _type, ...fact } = line;
        facts.set(line.id, fact);
        if (holds) sealed.add(line.id);
        else sealed.delete(line.id);
      } else if (line.type === "confirm-fact") {
        const fact = facts.get(line.id);
        if (fact && (holds || !sealed.has(line.id))) fact.confirmed = (fact.confirmed ?? 0) + 1;
      } else if (line.type === "forget-fact") facts.delete(line.id);
      else forgottenSessions.add(line.sessionId);
    }
    return {
      facts: [...facts.values()],
      forgottenSessions: [...forgottenSessions],
      damagedLines,
      sealed: [...sealed].filter((id) => facts.has(id)),
    };
  }

  /** Appends one line to the log. */
  append(line: FactLine): void {
    const body = JSON.stringify(line);
    appendPrivateFile(this.path, `${this.#sealer(true)?.seal(sealedFor(line), body) ?? body}\n`);
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
      const body = JSON.stringify(marker);
      const text = [...kept, this.#sealer(true)?.seal(sealedFor(marker), body) ?? body].map((line) => `${line}\n`).join("");
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
