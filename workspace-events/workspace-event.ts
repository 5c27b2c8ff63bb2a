import { z } from "zod";

// What changed in a workspace (or org's checkout), told once where it changed. Ids and names only: never a secret,
// never a file's contents. Adding a kind of event is one entry in this union.

const name = z.string().min(1).max(200);
const commit = z.string().regex(/^[0-9a-f]{7,64}$/);

/** One event of the workspace's stream, tagged by `type` (`<noun>-<verb>`). */
export const WorkspaceEvent = z.discriminatedUnion("type", [
  /** A candidate branch was made (the toolsmith's build, a rebase). */
  z.object({ type: z.literal("candidate-made"), branch: name }),
  /** A candidate branch was removed (pruned, or discarded by grow unjudged). */
  z.object({ type: z.literal("candidate-removed"), branch: name }),
  /** A gate run began on a candidate. */
  z.object({ type: z.literal("gate-started"), branch: name }),
  /** A gate run ended with its verdict. */
  z.object({ type: z.literal("gate-finished"), branch: name, verdict: z.string().max(40) }),
  /** `main` moved by a promotion: the candidate and its tag. */
  z.object({ type: z.literal("main-promoted"), branch: name, tag: name, commit: commit.optional() }),
  /** A promotion was rolled back: its tag. */
  z.object({ type: z.literal("main-rolled-back"), tag: name, commit: commit.optional() }),
  /** A generated tool was called (its figures changed). */
  z.object({ type: z.literal("tool-called"), tool: name }),
  /** `org grow`'s proposals changed (found, decided, built). */
  z.object({ type: z.literal("proposals-changed") }),
  /** The supervisor recorded or changed an incident or a fix. */
  z.object({ type: z.literal("incident-changed"), check: name.optional() }),
  /** Memory changed: a transcript's words indexed, a fact saved or forgotten, a session forgotten. */
  z.object({ type: z.literal("memory-changed"), what: z.enum(["indexed", "fact-saved", "fact-forgotten", "session-forgotten"]) }),
  /** A change to the workspace was recorded, applied, refused or undone (the change journal). */
  z.object({ type: z.literal("change-recorded"), id: z.string().regex(/^[0-9A-Za-z-]{1,64}$/), undone: z.boolean().default(false) }),
]);
export type WorkspaceEvent = z.infer<typeof WorkspaceEvent>;

/** The highest sequence number or floor taken: past it (a planted one) counting would lose exactness. */
export const MAX_SEQ = 2 ** 48;

/** One line of the journal: the event, its sequence number (unique and increasing in one journal) and when. */
export const WorkspaceEventRecord = z.object({ seq: z.number().int().positive().max(MAX_SEQ), at: z.string().max(40), event: WorkspaceEvent });
export type WorkspaceEventRecord = z.infer<typeof WorkspaceEventRecord>;

/** The journal's first line: every event at or below `floor` was dropped by rotation. */
export const JournalHeader = z.object({ floor: z.number().int().nonnegative().max(MAX_SEQ) });

/** Whether one of `records` changes which tools are promoted: a promotion or a rollback. */
export function changesPromotedTools(records: readonly WorkspaceEventRecord[]): boolean {
  return records.some((record) => record.event.type === "main-promoted" || record.event.type === "main-rolled-back");
}
