import { z } from "zod";

// The web room's JSON routes beside serve's session routes: each body and answer declared once, here, and used by the
// server (to build the answer) and by the page (to check it). This module imports only zod: the page bundles it.

/** What a refusal or an action's outcome says, in a line a person reads. */
const Said = z.object({ said: z.string() });

// Changes: the workspace's change journal (`.org/changes/`, `/undo`, `org undo`).
export const AppliedChange = z.object({
  id: z.string(),
  seq: z.number(),
  time: z.string(),
  persona: z.string().nullable(),
  sessionId: z.string().nullable(),
  files: z.array(z.object({ path: z.string(), status: z.string() })),
  added: z.number(),
  removed: z.number(),
  undone: z.string().nullable(),
  /** The unified diff, redacted. */
  diff: z.string(),
  /** Whether Undo takes this one back now: the newest change still applied. */
  undoable: z.boolean(),
});
export type AppliedChange = z.infer<typeof AppliedChange>;
/** `GET /v1/changes`: newest first. */
export const ChangeList = z.object({ applied: z.array(AppliedChange), ignored: z.number() });
export const UndoRequest = z.object({ force: z.boolean().optional() });
export const UndoAnswer = Said.extend({ changeId: z.string() });

/** `POST /v1/sessions` (serve's route): the new session's id. */
/**
 * Messages the room's first read of a session holds (its newest turns: a few screens, little to read and check before
 * the room is drawn), and each older page it reads as the person scrolls up.
 */
export const ROOM_FIRST_MESSAGES = 50;
export const ROOM_OLDER_MESSAGES = 100;
export const SessionCreated = z.object({ session: z.string() });

// Session commands: the terminal's /mode, /wish and /undo on a session's room.
export const ModeRequest = z.object({ mode: z.string().min(1).max(300) });
export const ModeAnswer = z.object({ mode: z.string() });
export const WishRequest = z.object({ text: z.string().min(1).max(2000) });
export const WishAnswer = Said;

// Tools: the promoted tools' calls, from the call records (`.org/usage/`).
export const ToolDay = z.object({ day: z.string(), calls: z.number(), failures: z.number() });
export const ToolFigures = z.object({
  name: z.string(),
  calls: z.number(),
  ok: z.number(),
  failed: z.number(),
  successRate: z.number().nullable(),
  trust: z.number().nullable(),
  lastCall: z.string().nullable(),
  /** Whether it is promoted now (a tool rolled back keeps its calls). */
  promoted: z.boolean(),
  /** The personas it is offered to now, with their policy for it (`ask`: the person approves each call). */
  offeredTo: z.array(z.object({ persona: z.string(), policy: z.enum(["allow", "ask"]) })),
  /** The last 14 days, oldest first. */
  days: z.array(ToolDay),
});
export type ToolFigures = z.infer<typeof ToolFigures>;
/** `GET /v1/tool-usage`. */
export const ToolUsageList = z.object({ tools: z.array(ToolFigures) });

// Candidates: the cand/* branches, the gate, promotions.
export const GateStage = z.object({ stage: z.string(), ok: z.boolean(), detail: z.string(), durationMs: z.number() });
export const GateRun = z.object({
  branch: z.string(),
  state: z.enum(["running", "done", "failed"]),
  stages: z.array(GateStage),
  verdict: z.string().nullable(),
  said: z.string(),
});
export type GateRun = z.infer<typeof GateRun>;
export const CandidateView = z.object({
  branch: z.string(),
  /** The branch's time stamp: its id in the routes (`cand/<id>`). */
  id: z.string(),
  tools: z.array(z.string()),
  state: z.string(),
  commit: z.string(),
  builtAt: z.string(),
  verdict: z.string().nullable(),
  model: z.string().nullable(),
  promotion: z.string().nullable(),
  supersededBy: z.string().nullable(),
  /** The newest signed report's checks, in stage order. */
  checks: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string() })),
});
export type CandidateView = z.infer<typeof CandidateView>;
export const PromotionView = z.object({ tag: z.string(), time: z.string().nullable(), tools: z.array(z.string()), rolledBack: z.boolean() });
/** `GET /v1/candidates`. */
export const CandidateList = z.object({ candidates: z.array(CandidateView), promotions: z.array(PromotionView), gates: z.array(GateRun) });
export const ActionAnswer = Said.extend({ ok: z.boolean() });

// Growth: org grow's proposals and reports.
export const ProposalView = z.object({
  id: z.string(),
  goal: z.string(),
  state: z.string(),
  kind: z.string(),
  count: z.number(),
  sessions: z.number(),
  tool: z.string().nullable(),
  evidence: z.array(z.object({ quote: z.string(), source: z.string(), session: z.string() })),
  /** What a person may say now: Accept and Reject, by its state. */
  canAccept: z.boolean(),
  canReject: z.boolean(),
});
export type ProposalView = z.infer<typeof ProposalView>;
export const GrowRunView = z.object({ id: z.string(), startedAt: z.string(), summary: z.string(), tokens: z.number(), modelMs: z.number() });
/** `GET /v1/growth`. */
export const GrowthView = z.object({ proposals: z.array(ProposalView), runs: z.array(GrowRunView) });

// Supervisor: `org supervise status`, and the backups.
export const SupervisorView = z.object({
  supervisor: z.object({ pid: z.number(), since: z.string() }).nullable(),
  lastRound: z.object({ at: z.string(), ms: z.number() }).nullable(),
  checks: z.array(z.object({ name: z.string(), state: z.string(), detail: z.string(), since: z.string().nullable() })),
  incidents: z.array(
    z.object({
      id: z.string(),
      pattern: z.string(),
      title: z.string(),
      detail: z.string(),
      openedAt: z.string().nullable(),
      seen: z.number(),
      muted: z.boolean(),
      fix: z.object({ id: z.string(), action: z.string(), target: z.string(), state: z.string(), detail: z.string() }).nullable(),
    }),
  ),
  fixes: z.array(
    z.object({ id: z.string(), incident: z.string(), action: z.string(), state: z.string(), detail: z.string(), steps: z.array(z.string()) }),
  ),
  mutes: z.array(z.object({ pattern: z.string(), until: z.string().nullable() })),
  backups: z.array(z.object({ name: z.string(), takenAt: z.string(), bytes: z.number() })),
});
export type SupervisorView = z.infer<typeof SupervisorView>;
export const MuteRequest = z.object({ pattern: z.string().min(1).max(200), forMs: z.number().int().positive().optional() });

// Memory: search, and forget a session or a fact.
export const MemoryHitView = z.object({
  kind: z.string(),
  sessionId: z.string().nullable(),
  factId: z.string().nullable(),
  persona: z.string(),
  time: z.string(),
  snippet: z.string(),
});
/** `GET /v1/memory/search?q=…&limit=N`. */
export const MemorySearchAnswer = z.object({ method: z.string(), hits: z.array(MemoryHitView), note: z.string().nullable() });
export const ForgetRequest = z.union([z.object({ session: z.string().min(1).max(200) }), z.object({ fact: z.string().min(1).max(200) })]);

/** `GET /v1/web/updates`: an event stream whose `data:` names a view whose data changed (read it again). */
export const ViewChanged = z.object({ view: z.enum(["changes", "tools", "candidates", "growth", "supervisor", "memory"]) });
export type ViewChanged = z.infer<typeof ViewChanged>;
