import { z } from "zod";
import { TOOL_NAME_PATTERN } from "../config/workspace-paths.ts";
import { CANDIDATE_BRANCH_PATTERN, OBJECT_ID_PATTERN } from "../git/ref-names.ts";
import { OFFER_ID_PATTERN } from "../share/offer.ts";
import { GOAL_CHARS, QUOTE_CHARS } from "./need-signals.ts";

/**
 * Where a proposal stands. `unconfirmed`: no person's words asked for it (only a model's or a tool's), in fewer than
 * grow.confirmSessions sessions, and no `org grow accept`: shown, never built.
 */
export const ProposalState = z.enum(["pending", "unconfirmed", "covered", "building", "built", "failed", "promoted", "rejected"]);
export type ProposalState = z.infer<typeof ProposalState>;

/** What a need was noticed from. */
export const NeedKind = z.enum([
  /** A call of a tool that does not exist. */
  "missing-tool",
  /** A generated tool's call that failed. */
  "failed-call",
  /** A workflow step that failed: its tool failed, or does not exist. */
  "failed-step",
  /** A sandboxed command or Python module that is not there. */
  "missing-command",
  /** A persona said it could not do something. */
  "cannot",
  /** A user asked for a tool in so many words. */
  "request",
  /** The model heard it in what was said (`report_needs`), its quote found in the turn. */
  "noticed",
  /** `/wish TEXT` in the room. */
  "wish",
  /** A workflow planned from a person's goal (`org workflow plan`, `plan_workflow`) needed a step no tool can do. */
  "plan",
  /** `org grow` rolled the tool back: its failing inputs. */
  "rollback",
  /** A promoted tool nobody called for grow.pruneUnusedDays. */
  "idle",
]);
export type NeedKind = z.infer<typeof NeedKind>;

/**
 * Whose words showed a need, by the kind of event they were in (never by what a model claims): `user` what a person
 * typed (or a client of serve called), `persona` a model's reply or call, `tool` a tool's result or a fetched page.
 */
export const NeedSource = z.enum(["user", "persona", "tool"]);
export type NeedSource = z.infer<typeof NeedSource>;

/** Whose words weigh most as evidence of a turn: a person's, then a model's, then a tool's. */
export const SOURCE_RANK: Record<NeedSource, number> = { user: 2, persona: 1, tool: 0 };

/** A turn's key, as evidence counts it: one turn of one session counts once. */
export const turnKey = (turn: { session: string; turn: string }) => `${turn.session}\u0000${turn.turn}`;

/** One place a need was seen: the session (or `usage` for the call record), the turn, what was said (cut short), and whose words. */
export const Evidence = z.strictObject({
  session: z.string().min(1).max(128),
  turn: z.string().min(1).max(128),
  quote: z.string().max(QUOTE_CHARS),
  /** Absent on evidence kept before sources were recorded. */
  source: NeedSource.optional(),
});
export type Evidence = z.infer<typeof Evidence>;

const ToolName = z.string().regex(TOOL_NAME_PATTERN);

/** What a proposal asks for: a new tool, a tool rolled back to be built again, a tool to remove. */
export const ProposalKind = z.enum(["build", "rebuild", "remove"]);
export type ProposalKind = z.infer<typeof ProposalKind>;

/** A teammate's offer that covers a need (verified by a pull here, not landed or not promoted): who signed it, what to run. */
export const ProposalOffer = z.strictObject({
  id: z.string().regex(OFFER_ID_PATTERN),
  tool: ToolName,
  signer: z.string().max(100),
  fingerprint: z.string().max(100),
  /** The command that brings it here: `org share pull`, `org share promote ID`, `org share land ID --as NAME, then …`. */
  run: z.string().max(200),
});
export type ProposalOffer = z.infer<typeof ProposalOffer>;

/** One unmet need, however often and wherever it was seen. */
export const Proposal = z.strictObject({
  id: z.string().regex(/^p[0-9a-f]{10,16}$/),
  goal: z.string().min(1).max(GOAL_CHARS),
  /** The newest places it was seen (at most MAX_EVIDENCE); `count` counts them all. */
  evidence: z.array(Evidence),
  /** How many times (distinct turns) it was seen. */
  count: z.int().min(0),
  /** In how many distinct sessions (most-needed means most sessions, then most recent). */
  sessions: z.int().min(0).default(0),
  /** Short hashes of those sessions (the newest MAX_SEEN_SESSIONS), so a session is counted once. */
  seenIn: z.array(z.string().regex(/^[0-9a-f]{8}$/)).default([]),
  /** How often each source's words showed it. */
  sources: z.partialRecord(NeedSource, z.int().min(0)).default({}),
  /** A person ran `org grow accept`: built like a confirmed proposal whatever its sources. */
  accepted: z.boolean().optional(),
  firstSeen: z.iso.datetime(),
  lastSeen: z.iso.datetime(),
  state: ProposalState,
  kind: ProposalKind,
  /** The signal the goal's words came from (a user's words win over a tool's name). */
  goalFrom: NeedKind,
  /** How often each signal was seen. */
  signals: z.partialRecord(NeedKind, z.int().min(0)),
  /** The tool it names: a missing tool's name, the tool to rebuild or remove, or (promoted) the tool built for it. */
  tool: ToolName.optional(),
  /** `covered`: the tool that already answers it (promoted, or on `candidate`, waiting for `org promote`). */
  coveredBy: ToolName.optional(),
  candidate: z.string().regex(CANDIDATE_BRANCH_PATTERN).optional(),
  /** `covered` by a teammate's offer this machine has not landed or promoted yet (`coveredBy` is its tool). */
  offer: ProposalOffer.optional(),
  /** `covered` as judged with the embeddings at hand: a run without them (their server gone) keeps the cover. */
  coveredWithEmbeddings: z.literal(true).optional(),
  /** A rebuild: the inputs the rolled-back tool failed on, as data (JSON excerpts, bounded), never as instructions. */
  failingInputs: z
    .array(z.strictObject({ input: z.string().max(400), error: z.string().max(300).optional() }))
    .max(3)
    .optional(),
  /** The candidate built for it, and how it was judged and promoted. */
  branch: z.string().regex(CANDIDATE_BRANCH_PATTERN).optional(),
  commit: z.string().regex(OBJECT_ID_PATTERN).optional(),
  reportPath: z.string().max(4096).optional(),
  promotion: z.string().max(64).optional(),
  /** Why it failed (or was rolled back), in one line. */
  failure: z.string().max(1000).optional(),
  /** The proposal that carries this need on (the rebuild filed when the tool built for it was rolled back). */
  supersededBy: z
    .string()
    .regex(/^p[0-9a-f]{10,16}$/)
    .optional(),
  /** Builds tried. */
  attempts: z.int().min(0).default(0),
  updatedAt: z.iso.datetime(),
});
export type Proposal = z.infer<typeof Proposal>;

/** Evidence kept per proposal: the newest; `count` keeps counting. */
export const MAX_EVIDENCE = 20;
/** Builds a proposal gets before it stays `failed` whatever new evidence comes. */
export const MAX_ATTEMPTS = 3;
/** Sessions a proposal remembers by hash; past them the count keeps growing by sessions not among the newest. */
export const MAX_SEEN_SESSIONS = 512;
