import { z } from "zod";
import { onFirstUse } from "../concurrency/on-first-use.ts";

// The web room's JSON routes beside serve's session routes: each body and answer declared once, here, and used by the
// server (to build the answer) and by the page (to check it). This module imports only zod (and the
// first-use helper): the page bundles it.

/** The views whose data a page is told has changed (`ViewChanged`). */
export const VIEW_NAMES = ["changes", "tools", "candidates", "growth", "supervisor", "memory"] as const;

/** The change journal's and the session commands' bodies and answers. */
function changeAndSessionSchemas(Said: z.ZodObject<{ said: z.ZodString }>) {
  // Changes: the workspace's change journal (`.org/changes/`, `/undo`, `org undo`).
  const AppliedChange = z.object({
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
  /** `GET /v1/changes`: newest first. */
  const ChangeList = z.object({ applied: z.array(AppliedChange), ignored: z.number() });
  const UndoRequest = z.object({ force: z.boolean().optional() });
  const UndoAnswer = Said.extend({ changeId: z.string() });

  /** `POST /v1/sessions` (serve's route): the new session's id. */
  const SessionCreated = z.object({ session: z.string() });

  // Session commands: the terminal's /mode, /wish and /undo on a session's room.
  const ModeRequest = z.object({ mode: z.string().min(1).max(300) });
  const ModeAnswer = z.object({ mode: z.string() });
  const WishRequest = z.object({ text: z.string().min(1).max(2000) });
  const WishAnswer = Said;
  // /compact [focus] and /context [persona]: summaries written now, and what each persona's next prompt holds, as lines.
  const CompactRequest = z.object({ focus: z.string().min(1).max(2000).optional() });
  const CompactAnswer = Said;
  const ContextAnswer = Said;
  // /facts [accept N | reject N]: the observer's proposals about the person, and the answer to one.
  const FactsRequest = z.object({ argument: z.string().max(200) });
  const FactsAnswer = Said;
  /**
   * `POST /v1/sessions/:id/command`: a line of the message box that starts with `/`, read and run by the room's one
   * interpreter (room/interpret-command.ts): a message to send after all (`//text`), or the command's answer.
   */
  const CommandRequest = z.object({ line: z.string().min(1).max(4000) });
  const CommandAnswer = z.union([
    z.object({ type: z.literal("message"), text: z.string() }),
    z.object({ type: z.literal("empty") }),
    z.object({ type: z.literal("answer"), command: z.string(), ok: z.boolean(), lines: z.array(z.string()) }),
  ]);
  return {
    AppliedChange,
    ChangeList,
    UndoRequest,
    UndoAnswer,
    SessionCreated,
    ModeRequest,
    ModeAnswer,
    WishRequest,
    WishAnswer,
    CompactRequest,
    CompactAnswer,
    ContextAnswer,
    FactsRequest,
    FactsAnswer,
    CommandRequest,
    CommandAnswer,
  };
}

/** The tools' figures, and the candidates with their gate runs and promotions. */
function toolAndCandidateSchemas(Said: z.ZodObject<{ said: z.ZodString }>) {
  // Tools: the promoted tools' calls, from the call records (`.org/usage/`).
  const ToolDay = z.object({ day: z.string(), calls: z.number(), failures: z.number() });
  const ToolFigures = z.object({
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
    /** The teammate's offer main's copy came from (`org share pull`): the offer's id, its signer's name and key; null when built here. */
    origin: z.object({ offer: z.string(), signer: z.string(), fingerprint: z.string() }).nullable(),
    /** The last 14 days, oldest first. */
    days: z.array(ToolDay),
  });
  /** `GET /v1/tool-usage`. */
  const ToolUsageList = z.object({ tools: z.array(ToolFigures) });

  // Candidates: the cand/* branches, the gate, promotions.
  const GateStage = z.object({ stage: z.string(), ok: z.boolean(), detail: z.string(), durationMs: z.number() });
  const GateRun = z.object({
    branch: z.string(),
    state: z.enum(["running", "done", "failed"]),
    stages: z.array(GateStage),
    verdict: z.string().nullable(),
    said: z.string(),
  });
  const CandidateView = z.object({
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
    /** The teammate's offer it was landed from (`org share pull`): the offer's id, its signer's name and key. */
    offer: z.object({ id: z.string(), signer: z.string(), fingerprint: z.string() }).nullable(),
    /** The newest signed report's checks, in stage order. */
    checks: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string() })),
  });
  const PromotionView = z.object({ tag: z.string(), time: z.string().nullable(), tools: z.array(z.string()), rolledBack: z.boolean() });
  /** `GET /v1/candidates`. */
  const CandidateList = z.object({ candidates: z.array(CandidateView), promotions: z.array(PromotionView), gates: z.array(GateRun) });
  const ActionAnswer = Said.extend({ ok: z.boolean() });
  return { ToolDay, ToolFigures, ToolUsageList, GateStage, GateRun, CandidateView, PromotionView, CandidateList, ActionAnswer };
}

/** Growth: org grow's proposals and reports. */
function growthSchemas() {
  const ProposalView = z.object({
    id: z.string(),
    goal: z.string(),
    state: z.string(),
    kind: z.string(),
    count: z.number(),
    sessions: z.number(),
    tool: z.string().nullable(),
    /** Covered by a teammate's offer a pull verified here: its id, tool, signer, and what to run to take it. */
    offer: z.object({ id: z.string(), tool: z.string(), signer: z.string(), fingerprint: z.string(), run: z.string() }).nullable(),
    evidence: z.array(z.object({ quote: z.string(), source: z.string(), session: z.string() })),
    /** What a person may say now: Accept and Reject, by its state. */
    canAccept: z.boolean(),
    canReject: z.boolean(),
  });
  const GrowRunView = z.object({ id: z.string(), startedAt: z.string(), summary: z.string(), tokens: z.number(), modelMs: z.number() });
  /** `GET /v1/growth`. */
  const GrowthView = z.object({ proposals: z.array(ProposalView), runs: z.array(GrowRunView) });
  return { ProposalView, GrowRunView, GrowthView };
}

/** The supervisor's view, memory's search, and which view changed. */
function supervisorAndMemorySchemas() {
  // Supervisor: `org supervise status`, and the backups.
  const SupervisorView = z.object({
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
  const MuteRequest = z.object({ pattern: z.string().min(1).max(200), forMs: z.number().int().positive().optional() });

  // Memory: search, and forget a session or a fact.
  const MemoryHitView = z.object({
    kind: z.string(),
    sessionId: z.string().nullable(),
    factId: z.string().nullable(),
    persona: z.string(),
    time: z.string(),
    snippet: z.string(),
  });
  /** `GET /v1/memory/search?q=…&limit=N`. */
  const MemorySearchAnswer = z.object({ method: z.string(), hits: z.array(MemoryHitView), note: z.string().nullable() });
  const ForgetRequest = z.union([z.object({ session: z.string().min(1).max(200) }), z.object({ fact: z.string().min(1).max(200) })]);

  /**
   * `GET /v1/web/opening[?session=ID]`: what the page opens the room with in one read: the session (`?session=`, else
   * the newest; null when there is none), what `GET /v1/sessions/:id` answers for it (null when it cannot be opened
   * now: the room then asks that route, which says why; checked by the room with that route's schema), and a ticket
   * for its stream.
   */
  const RoomOpening = z.object({ session: z.string().nullable(), state: z.unknown(), ticket: z.string() });

  /** `GET /v1/web/updates`: an event stream whose `data:` names a view whose data changed (read it again). */
  const ViewChanged = z.object({ view: z.enum(VIEW_NAMES) });
  return {
    SupervisorView,
    MuteRequest,
    MemoryHitView,
    MemorySearchAnswer,
    ForgetRequest,
    RoomOpening,
    ViewChanged,
  };
}

/** The routes' schemas, made on first use: serve starts without them, a view's first route builds them. */
export const webApiSchemas = onFirstUse(() => {
  /** What a refusal or an action's outcome says, in a line a person reads. */
  const Said = z.object({ said: z.string() });
  return { ...changeAndSessionSchemas(Said), ...toolAndCandidateSchemas(Said), ...growthSchemas(), ...supervisorAndMemorySchemas() };
});
type Schemas = ReturnType<typeof webApiSchemas>;
export type AppliedChange = z.infer<Schemas["AppliedChange"]>;
export type ToolFigures = z.infer<Schemas["ToolFigures"]>;
export type GateRun = z.infer<Schemas["GateRun"]>;
export type CandidateView = z.infer<Schemas["CandidateView"]>;
export type ProposalView = z.infer<Schemas["ProposalView"]>;
export type SupervisorView = z.infer<Schemas["SupervisorView"]>;
export type ViewChanged = z.infer<Schemas["ViewChanged"]>;
export type RoomOpening = z.infer<Schemas["RoomOpening"]>;
export type ChangeList = z.infer<Schemas["ChangeList"]>;
export type ToolUsageList = z.infer<Schemas["ToolUsageList"]>;
export type CandidateList = z.infer<Schemas["CandidateList"]>;
export type GrowthView = z.infer<Schemas["GrowthView"]>;
export type MemorySearchAnswer = z.infer<Schemas["MemorySearchAnswer"]>;
