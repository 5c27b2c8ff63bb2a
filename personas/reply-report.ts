import { z } from "zod";
import { onFirstUse } from "../concurrency/on-first-use.ts";
import { LOOP_STOP_REASONS } from "../llm/loop-stop-reasons.ts";
import { roomMessageSchemas } from "./room-message.ts";

/** The reply report's schemas, made on first use: the room reports in plain objects and parses none as it runs. */
export const replyReportSchemas = onFirstUse(() => {
  const { RoomToolCall } = roomMessageSchemas();
  /** Where a step of a multi-step reply (the toolsmith's pipeline) stands. */
  const ProgressStatus = z.enum(["started", "running", "done", "failed", "skipped"]);

  const TextDeltaReport = z.object({ type: z.literal("text-delta"), text: z.string() });
  const ReasoningDeltaReport = z.object({ type: z.literal("reasoning-delta"), text: z.string() });
  const ToolCallReport = z.object({ type: z.literal("tool-call"), call: RoomToolCall });
  const ToolResultReport = z.object({
    type: z.literal("tool-result"),
    call: RoomToolCall,
    ok: z.boolean(),
    output: z.string(),
    /** The structured value the tool returned beside its text (redacted), when it returned one. */
    data: z.unknown().optional(),
    /** Set by tools that run a process in the sandbox: its exit code, null when it did not exit by itself. */
    exitCode: z.number().nullable().optional(),
    durationMs: z.number(),
    /** Where the result's words from outside came from (a page's origin, an MCP server): docs/browser.md, "A page's words". */
    outsideFrom: z.string().optional(),
  });
  /** One step of a multi-step reply: e.g. `{ step: "tests", status: "failed", detail: "2 of 9 failed" }`. */
  const ProgressReport = z.object({
    type: z.literal("progress"),
    step: z.string(),
    status: ProgressStatus,
    detail: z.string().optional(),
  });

  /**
   * What a persona's `respond` reports while it works. The room stamps the reply id and persona on each and
   * turns it into a `RoomEvent`; `waiting` is before a model's first token, `loop-stop` a tool loop cut short,
   * `calls-refused` tool calls beyond the reply's limit.
   */
  const ReplyReport = z.discriminatedUnion("type", [
    TextDeltaReport,
    ReasoningDeltaReport,
    ToolCallReport,
    ToolResultReport,
    ProgressReport,
    z.object({ type: z.literal("waiting") }),
    z.object({ type: z.literal("loop-stop"), reason: z.enum(LOOP_STOP_REASONS), message: z.string() }),
    z.object({ type: z.literal("calls-refused"), message: z.string(), reason: z.enum(["tool-limit", "quoted-call"]).optional() }),
  ]);
  return { ProgressStatus, TextDeltaReport, ReasoningDeltaReport, ToolCallReport, ToolResultReport, ProgressReport, ReplyReport };
});
type Schemas = ReturnType<typeof replyReportSchemas>;
export type ProgressStatus = z.infer<Schemas["ProgressStatus"]>;
export type ReplyReport = z.infer<Schemas["ReplyReport"]>;
