import type { OrgConfig } from "../config/org-config.ts";
import type { ToolPolicy } from "../config/tool-policy.ts";
import type { FifoSemaphore } from "../concurrency/fifo-semaphore.ts";
import type { ModelFactory } from "../personas/persona-model.ts";
import type { RoomMessage } from "../personas/room-message.ts";
import type { ToolsmithJob } from "../personas/toolsmith-persona.ts";
import type { Sandbox } from "../sandbox/run-sandboxed.ts";
import type { SandboxPolicy } from "../sandbox/sandbox-policy.ts";
import type { AuditSink } from "../security/audit-log.ts";
import type { AnyTool } from "../tools/define-tool.ts";
import type { WorkspaceCopies } from "../workspace/workspace-copies.ts";
import type { TranscriptIndex } from "./memory-indexer.ts";
import type { LocalApprove, RemoteApprovals } from "./room-approvals.ts";
import type { RoomEvent } from "./room-event.ts";
import type { RoomStream } from "./room-stream.ts";
import type { ToolFeed } from "./tool-feed.ts";
import type { TurnToolChoice } from "./turn-tool-choice.ts";

export type RoomOptions = {
  config: OrgConfig;
  workspaceDir: string;
  /** Built-in tools (sh, python_run, …); the room adds `chat_mode` itself. */
  tools: AnyTool[];
  /** The names among `tools` that are promoted generated tools: `offerPromotedTools` may take them away again. */
  generated?: readonly string[];
  /** Tools that come and go while the room is open (its MCP servers'), with their notices. */
  toolFeed?: ToolFeed;
  audit?: AuditSink;
  /** The process's sandbox, made where org was assembled: every tool call of the room runs in it. */
  sandbox: Sandbox;
  /** The sandbox policy org was assembled with, handed to every tool call. */
  sandboxPolicy: SandboxPolicy;
  /** The sessions' private copies of the workspace (write view), made where org was assembled; this room's is released when it closes. */
  workspaceCopies: WorkspaceCopies;
  /** Per-turn choice among many generated tools (the registry's); without it every allowed tool is offered. */
  toolChoice?: TurnToolChoice;
  /**
   * The console's approval question, asked for tools a persona's policy marks "ask" (and workspace changes under "ask");
   * its signal aborts when another subscriber answered first. Without it, and without `remoteApprovals`, those calls are denied.
   */
  approve?: LocalApprove;
  /**
   * The session's "always" answers (the keys `RoomApprovals` keeps), for a room opened again on the same session in this
   * process (`org chat` does when its config changes): pass each the same set and an "always" given before still holds.
   */
  alwaysAllowed?: Set<string>;
  /** Answers over the room's stream (serve: whoever watches the session): asked only while `available()`, waited for `timeoutMs`. */
  remoteApprovals?: RemoteApprovals;
  /** The room's stream of events, made where the room is assembled (serve keeps one per session across reopening); a new one by default. */
  stream?: RoomStream;
  /** The workspace_write policy of this entry point, which no persona's policy loosens (serve's API: serve.tools.workspace_write, default "deny"). */
  workspaceWrite?: ToolPolicy;
  /** Default `<workspaceDir>/.org/sessions`. */
  sessionsDir?: string;
  /** A session id, or true for the latest session. */
  resume?: string | true;
  /** A new session's earlier conversation (e.g. an OpenAI client's `messages`); ignored when resuming. */
  history?: RoomMessage[];
  /** The toolsmith's pipeline, run when someone asks the toolsmith for a tool; without it the toolsmith says it cannot. */
  toolsmithJob?: ToolsmithJob;
  /** Request slots per model server; pass one `serverSlots(config)` to several rooms to share them (default: the room's own). */
  serverSlots?: (server: string) => FifoSemaphore;
  /** The model each persona talks to; default: its OpenAI-compatible server from the config (`httpModels`). */
  models?: ModelFactory;
  /** Memory's index; a failure to index never touches the transcript or the room: it becomes a notice. */
  memory?: TranscriptIndex;
  /**
   * Let each offered tool prepare when the room opens (sh starts its session's sandbox); default true. A room
   * that lives for one request (the OpenAI route) says false: most of its replies call no tool.
   */
  prepareTools?: boolean;
  /** A first subscriber of the room's stream, from its very first event (the console, `chat --json`, a test). */
  onEvent?: (event: RoomEvent) => void;
};
