import { join } from "node:path";
import { z } from "zod";
import { errorCode } from "../concurrency/error-code.ts";
import { MEMORY_DIR } from "../config/workspace-paths.ts";
import { ensurePrivateDir, readPrivateFile, writePrivateFile } from "../security/private-state.ts";

/** What the observer keeps under `.org/memory/`: its proposals waiting for the person, and how far it read each session. */
export const STAGED_FILE = "staged.json";

const StagedFact = z.object({
  id: z.string(),
  text: z.string(),
  kind: z.enum(["fact", "preference"]),
  /** The person's own words it rests on, found verbatim in `messageId`. */
  quote: z.string(),
  sessionId: z.string(),
  messageId: z.string(),
  time: z.string(),
});
/** A fact or preference the observer proposed about the person, with the words and the message it rests on. */
export type StagedFact = z.infer<typeof StagedFact>;

const StagedFile = z.object({
  pending: z.array(StagedFact),
  /** Digests (never the text) of what the person rejected: not proposed again. */
  rejected: z.array(z.string()),
  /** Per session: the transcript's bytes the observer has read, and its mtime then, so nothing is read twice. */
  observed: z.record(z.string(), z.object({ bytes: z.number(), mtime: z.number() })),
});
export type StagedFile = z.infer<typeof StagedFile>;

/** A fact's text as proposals are compared: lowercase, white space and end punctuation folded. */
export function factKey(text: string): string {
  return text
    .toLowerCase()
    .replace(/\s+/g, " ")
    .replace(/[.!;,\s]+$/, "")
    .trim();
}

/** The digest a rejection is kept as. */
export function rejectionDigest(text: string): string {
  return new Bun.CryptoHasher("sha256").update(factKey(text)).digest("hex").slice(0, 32);
}

/**
 * `.org/memory/staged.json`: the observer's proposals that wait for the person (`observer.promote: "suggest"`), the
 * digests of those rejected, and how many transcript lines of each session it has read. Written whole, atomically: the
 * proposals of a session and its progress land together, so a crash loses neither nor reads a session twice.
 */
export class StagedFacts {
  readonly path: string;
  /** `memoryDir`: the workspace's `.org/memory/` (`MemoryStore.dir`). */
  constructor(readonly memoryDir: string) {
    this.path = join(memoryDir, STAGED_FILE);
  }

  /** The staged facts of the workspace `workspaceDir`. */
  static of(workspaceDir: string): StagedFacts {
    return new StagedFacts(join(workspaceDir, MEMORY_DIR));
  }

  /** The file as it is now; empty when there is none or it cannot be read (it holds nothing that is the only copy of a fact). */
  read(): StagedFile {
    try {
      const parsed = StagedFile.safeParse(JSON.parse(readPrivateFile(this.path)));
      if (parsed.success) return parsed.data;
    } catch (error) {
      if (!(error instanceof SyntaxError) && errorCode(error) !== "ENOENT") throw error;
    }
    return { pending: [], rejected: [], observed: {} };
  }

  /** Reads, changes and writes the file back whole. */
  update<Result>(change: (file: StagedFile) => Result): Result {
    const file = this.read();
    const result = change(file);
    ensurePrivateDir(this.memoryDir);
    writePrivateFile(this.path, `${JSON.stringify(file, null, 1)}\n`, { durable: true });
    return result;
  }

  /** Drops a forgotten session's proposals (its progress stays: the observer never reads a forgotten session again). */
  forgetSession(sessionId: string): void {
    if (this.read().pending.every((fact) => fact.sessionId !== sessionId)) return;
    this.update((file) => {
      file.pending = file.pending.filter((fact) => fact.sessionId !== sessionId);
    });
  }
}

/** A new proposal's id. */
export function stagedFactId(): string {
  return `s-${crypto.randomUUID().slice(0, 8)}`;
}
