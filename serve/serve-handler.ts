import { userOrgDir } from "../config/user-org-dir.ts";
import type { OrgConfig } from "../config/org-config.ts";
import type { TranscriptIndex } from "../room/room.ts";
import { serverSlots } from "../room/server-slots.ts";
import type { AuditSink } from "../security/audit-log.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { WorkspaceCopies } from "../workspace/workspace-copies.ts";
import type { ToolsmithJob } from "../personas/toolsmith-persona.ts";
import type { Embedder } from "../registry/ollama-embedder.ts";
import { readJsonBody } from "./read-json-body.ts";
import type { ReloadResult, ServedTools } from "./served-tools.ts";
import { ServeMetrics } from "./serve-metrics.ts";
import { SessionPool } from "./session-pool.ts";
import { createMcpHttp, type McpHttp } from "./mcp-http.ts";
import { openAiChatRoutes } from "./openai-chat.ts";
import { JobsLog } from "./jobs-log.ts";
import { JobsQueue } from "./jobs-queue.ts";
import { jobsRoutes, sessionJobRunner } from "./jobs-routes.ts";
import { requestAuth } from "./request-auth.ts";
import { serveRoutes } from "./serve-routes.ts";
import { createRouter, type Route, route } from "./router.ts";
import { metricsMiddleware } from "./metrics-middleware.ts";
import { requestIdMiddleware } from "./request-id-middleware.ts";
import { errorMiddleware } from "./error-middleware.ts";
import { securityHeadersMiddleware } from "./security-headers-middleware.ts";
import { hostOriginMiddleware } from "./host-origin-middleware.ts";
import { authMiddleware } from "./auth-middleware.ts";
import { streamTicketRoute } from "./stream-ticket-route.ts";
import { servedRoomOpener } from "./served-room.ts";
import type { RoomPolicySource } from "./http-tool-policy.ts";
import type { RoomConfig } from "./room-config.ts";
import type { ToolFeed } from "../room/tool-feed.ts";
import { roomPolicies } from "../assembly/assemble-room.ts";
import { toolRoutes } from "./tool-routes.ts";
import { workflowRoutes } from "./workflow-routes.ts";
import { messagesRoute } from "./messages-route.ts";
import { sessionRoutes } from "./session-routes.ts";
import { join } from "node:path";
import { SESSIONS_DIR } from "../config/workspace-paths.ts";
import { ToolUsage } from "./tool-usage.ts";
import { type Health, toolRunSettings } from "../fitness/instance-health.ts";

/** What serve answers with; `sandbox` and `sandboxPolicy` (assembly/sandbox-policy-from.ts) are what every tool runs under. */
export type ServeHandlerOptions = SandboxAccess & {
  config: OrgConfig;
  /** Where `.org/` (sessions, audit, scratch) lives. */
  workspaceDir: string;
  tools: ServedTools;
  version: string;
  /** Bearer token every route but /health asks for; undefined turns auth off (loopback only, checked at start). */
  apiToken?: string;
  audit?: AuditSink;
  /** Rooms kept open in memory; idle ones past it are closed (and resumed when asked for). */
  maxOpenSessions?: number;
  /** Characters of history the open rooms may hold in all; idle ones past it are closed the same way. */
  maxOpenChars?: number;
  /** What the toolsmith persona runs when asked for a tool; without it the toolsmith says it cannot. */
  toolsmithJob?: ToolsmithJob;
  /**
   * Answer only requests addressed to a loopback name (Host) and not sent by a web page elsewhere (Origin):
   * without a token, that keeps a page in the user's browser (DNS rebinding, cross-site POSTs) out.
   */
  loopbackOnly?: boolean;
  /** Where unexpected errors are written, with their stack (never to the client). */
  logError?: (line: string) => void;
  /** The workspace's memory: every session's transcript lines are indexed into it. */
  memory?: TranscriptIndex;
  /**
   * ORG_API_HMAC_SECRET and ORG_API_HMAC_TTL_S: signed requests, an alternative to the bearer token; with how long a
   * signed body may take (ORG_API_HMAC_BODY_TIMEOUT_S) and how many one client may send at once
   * (ORG_API_HMAC_BODIES_PER_CLIENT), read before their signature can be checked.
   */
  hmac?: { secret: string; ttlS: number; bodyTimeoutS?: number; bodiesPerClient?: number };
  /**
   * `POST /v1/jobs`: workers (default 2), request_id TTL (default 300 s), whether the log is fsynced, how long
   * finished jobs are kept (ORG_SERVE_JOB_TTL_S), how many may wait (ORG_SERVE_JOB_QUEUE_MAX), and the log
   * size past which it is compacted (ORG_SERVE_JOB_LOG_COMPACT_BYTES); the clock those are read on (default `Date.now`).
   */
  jobs?: {
    workers?: number;
    dedupTtlS?: number;
    fsync?: boolean;
    ttlS?: number;
    maxQueued?: number;
    compactAboveBytes?: number;
    now?: () => number;
    /** The retries' jitter and wait (tests pass ones they control); the settings are `config.serve.jobs`. */
    random?: () => number;
    sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  };
  /** The user's org folder, whose key seals the job log's lines (default: `userOrgDir` of the process's environment). */
  orgHome?: { dir: string | undefined };
  /** ORG_PROFILE, shown by /health. */
  profile?: "dev" | "prod";
  /** Ranks promoted tools for the per-turn choice (and memory search) when set; without it, full-text search only. */
  embedder?: Embedder;
  /** The room's MCP servers' tools, offered in every room this server opens. */
  toolFeed?: ToolFeed;
  /** More routes, after serve's own: the web room's page and views (`web/web-routes.ts`), which serve does not import. */
  extraRoutes?: (parts: ExtraRouteParts) => Route[];
  /** What each session's event stream holds for watchers that reconnect (events, characters); `RoomStream`'s defaults unless set. */
  streamHold?: { maxEvents?: number; maxChars?: number };
  /**
   * Whose tool policies the sessions' rooms follow (http-tool-policy.ts): "serve" (default), serve's own for its API
   * for programs; "room", the room's own as the terminal follows them (`org web`: its person answers on the page). A
   * room of one request (`/v1/chat/completions`) follows serve's either way.
   */
  sessionPolicies?: RoomPolicySource;
  /** The config and sandbox policy the rooms open with as `org web` last read them; without it `config` and `sandboxPolicy`. */
  roomConfig?: RoomConfig;
};

/**
 * What routes from outside serve get of the server they join: its sessions, its log, a reload of its tools now
 * (after a promotion or rollback they made, rather than at the next look at HEAD), and a stream ticket (what the web
 * room's page opens an event stream with beside its cookie; empty when the server asks for no credential).
 */
export type ExtraRouteParts = {
  sessions: SessionPool;
  logError: (line: string) => void;
  reloadTools: () => Promise<ReloadResult>;
  streamTicket: () => string;
};

export type ServeHandler = {
  /** Answers one request; never throws. `client` is the peer's address when a socket brought it (`bindServe` gives it). */
  fetch(request: Request, client?: string): Promise<Response>;
  readonly metrics: ServeMetrics;
  readonly sessions: SessionPool;
  /** Whether every route but /health asks for the bearer token. */
  readonly authRequired: boolean;
  /** The route table the handler answers from (404 lists it, 405 reads Allow from it). */
  readonly routes: readonly Route[];
  /** Stops every running turn and closes the rooms (transcripts stay). */
  close(): Promise<void>;
};

type Logger = (line: string) => void;

/** How every room of this server is opened (sessions, jobs, the OpenAI route): from the room assembly. */
function roomOpener(options: ServedSessionsOptions, workspaceCopies: WorkspaceCopies, logError: Logger) {
  return servedRoomOpener({
    config: options.config,
    workspaceDir: options.workspaceDir,
    tools: options.tools,
    notify: logError,
    ...(options.toolsmithJob ? { toolsmithJob: options.toolsmithJob } : {}),
    ...(options.memory ? { memory: options.memory } : {}),
    ...(options.embedder ? { embedder: options.embedder } : {}),
    ...(options.audit ? { audit: options.audit } : {}),
    sandbox: options.sandbox,
    sandboxPolicy: options.sandboxPolicy,
    workspaceCopies,
    ...(options.toolFeed ? { toolFeed: options.toolFeed } : {}),
    ...(options.roomConfig ? { roomConfig: options.roomConfig } : {}),
  });
}

/** The session pool: rooms opened by the room assembly, reopened when the served tools change. */
function openSessions(
  options: ServedSessionsOptions,
  opener: ReturnType<typeof servedRoomOpener>,
  slots: ReturnType<typeof serverSlots>,
): SessionPool {
  const { config } = options;
  return new SessionPool({
    turns: config.serve.turns,
    queue: config.serve.queue,
    maxOpen: options.maxOpenSessions ?? 256,
    ...(options.maxOpenChars !== undefined ? { maxOpenChars: options.maxOpenChars } : {}),
    generation: opener.generation,
    // Requests of one session run one at a time, so the session's current request id is the one a tool ran for.
    approvalTimeoutMs: config.serve.approvalTimeoutS * 1000,
    ...(options.streamHold ? { streamHold: options.streamHold } : {}),
    open: ({ resume, stream, remoteApprovals, requestId }) =>
      opener.open(
        { serverSlots: slots, ...(resume !== undefined ? { resume } : {}), stream, remoteApprovals },
        requestId,
        options.sessionPolicies ?? "serve",
      ),
  });
}

/** `POST /v1/jobs` and friends: a durable queue whose workers run turns in the session pool. */
function openJobs(options: ServeHandlerOptions, sessions: SessionPool, logError: Logger) {
  const queue = new JobsQueue({
    log: new JobsLog(options.workspaceDir, options.jobs?.fsync ?? false, options.config.secrets, {
      home: options.orgHome === undefined ? userOrgDir() : options.orgHome.dir,
    }),
    run: sessionJobRunner(sessions),
    workers: options.jobs?.workers ?? 2,
    dedupTtlS: options.jobs?.dedupTtlS ?? 300,
    ...(options.jobs?.ttlS !== undefined ? { ttlS: options.jobs.ttlS } : {}),
    ...(options.jobs?.maxQueued !== undefined ? { maxQueued: options.jobs.maxQueued } : {}),
    ...(options.jobs?.compactAboveBytes !== undefined ? { compactAboveBytes: options.jobs.compactAboveBytes } : {}),
    ...(options.jobs?.now !== undefined ? { now: options.jobs.now } : {}),
    retry: options.config.serve.jobs,
    ...(options.jobs?.random !== undefined ? { random: options.jobs.random } : {}),
    ...(options.jobs?.sleep !== undefined ? { sleep: options.jobs.sleep } : {}),
    logError,
  });
  queue.start();
  return { queue, routes: jobsRoutes(queue, { maxBodyBytes: options.config.serve.maxBodyBytes, secrets: options.config.secrets }) };
}

/** `/v1/models` and `/v1/chat/completions`: the same room a session gets, with the client's messages as its past. */
function openAiRoutes(
  options: ServeHandlerOptions,
  parts: {
    opener: ReturnType<typeof servedRoomOpener>;
    slots: ReturnType<typeof serverSlots>;
    sessions: SessionPool;
    metrics: ServeMetrics;
    logError: Logger;
  },
) {
  const { metrics } = parts;
  return openAiChatRoutes({
    config: options.config,
    startedAt: metrics.startedAt,
    maxBodyBytes: options.config.serve.maxBodyBytes,
    openRoom: ({ history, requestId, onEvent }) =>
      parts.opener.open({ serverSlots: parts.slots, history, onEvent, prepareTools: false }, () => requestId),
    slot: (signal) => parts.sessions.toolSlot(signal),
    observe: (event) => {
      if (event.type !== "turn-end") return;
      for (const [persona, stats] of Object.entries(event.stats)) {
        metrics.tokens.add({ persona, kind: "prompt" }, stats.promptTokens);
        metrics.tokens.add({ persona, kind: "completion" }, stats.completionTokens);
      }
    },
    readBody: readJsonBody,
    logError: parts.logError,
  });
}

/** `GET /health`: no token needed; what runs, from which commit, with which tools, set up how for running them. */
function healthResponse(options: ServeHandlerOptions, metrics: ServeMetrics, settings: string): Response {
  const { tools } = options;
  return Response.json({
    ok: true,
    profile: options.profile ?? "dev",
    version: options.version,
    commit: tools.commit,
    branch: tools.branch,
    tools: tools.all().map((entry) => entry.tool.name),
    uptimeS: Math.round((Date.now() - metrics.startedAt) / 1000),
    ...(tools.restartNeeded ? { restartNeeded: tools.restartNeeded } : {}),
    settings,
  } satisfies Health);
}

/** `GET /metrics` in Prometheus' text format; the tool-call series left out (and logged) when its records cannot be read. */
function metricsResponse(metrics: ServeMetrics, sessions: SessionPool, usage: ToolUsage, logError: Logger): Response {
  let toolUsage: ReturnType<ToolUsage["stats"]> | undefined;
  try {
    toolUsage = usage.stats();
  } catch (error) {
    // A record org cannot read (say a planted link in .org/usage/) costs the tool series, not the whole answer.
    logError(`org: /metrics left out the tool calls: ${error instanceof Error ? error.message : String(error)}`);
  }
  return new Response(metrics.render({ sessionsOpen: sessions.size, ...(toolUsage ? { toolUsage } : {}) }), {
    headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
  });
}

/** The route table: each route's handler, over the parts the server holds. */
function routeTable(
  options: ServeHandlerOptions,
  parts: {
    metrics: ServeMetrics;
    /** How tools run here, as /health shows it. */
    settings: string;
    opener: ReturnType<typeof servedRoomOpener>;
    slots: ReturnType<typeof serverSlots>;
    sessions: SessionPool;
    jobs: ReturnType<typeof openJobs>["routes"];
    mcp: McpHttp;
    workspaceCopies: WorkspaceCopies;
    logError: Logger;
    streamTicket: () => string;
  },
): Route[] {
  const { config, workspaceDir, tools } = options;
  const { metrics, sessions, opener, logError } = parts;
  const access = { sandbox: options.sandbox, sandboxPolicy: options.sandboxPolicy };
  const usage = new ToolUsage([workspaceDir, tools.checkoutDir]);
  const own = serveRoutes({
    service: [
      route("GET", "/health", () => healthResponse(options, metrics, parts.settings), { auth: false }),
      route("GET", "/metrics", () => metricsResponse(metrics, sessions, usage, logError)),
      route("POST", "/v1/admin/reload", async () => {
        const result = await tools.reload();
        return Response.json(result, { status: result.reloaded ? 200 : 409 });
      }),
    ],
    messages: [messagesRoute({ config, sessions, tools, metrics, logError })],
    sessions: sessionRoutes({ config, sessions, sessionsDir: join(workspaceDir, SESSIONS_DIR), workspaceDir, tools, metrics, logError }),
    tools: toolRoutes({
      config,
      workspaceDir,
      tools,
      metrics,
      sessions,
      ...(options.audit ? { audit: options.audit } : {}),
      ...access,
      workspaceCopies: parts.workspaceCopies,
      roomPolicies: async () => roomPolicies(await opener.parts()),
    }),
    workflows: workflowRoutes({
      config,
      workspaceDir,
      checkoutDir: tools.checkoutDir,
      metrics,
      sessions,
      ...access,
      ...(options.audit ? { audit: options.audit } : {}),
    }),
    jobs: parts.jobs,
    openAi: openAiRoutes(options, parts),
    mcp: [route(["POST", "GET", "DELETE"], "/mcp", ({ request }) => parts.mcp.handle(request), { sameOrigin: true })],
  });
  const extra = options.extraRoutes?.({ sessions, logError, reloadTools: () => tools.reload(), streamTicket: parts.streamTicket });
  return [...own, ...(extra ?? [])];
}

/** What `servedSessions` needs: the room assembly's parts and the pool's bounds, as serve's handler takes them. */
export type ServedSessionsOptions = Omit<
  ServeHandlerOptions,
  "version" | "apiToken" | "loopbackOnly" | "hmac" | "jobs" | "profile" | "extraRoutes"
> & {
  logError: (line: string) => void;
};

/**
 * The session pool of serve's rooms without anything of HTTP (`org telegram` follows its chats' sessions through it):
 * rooms opened by the room assembly, the model servers' request slots, the sessions' private copies of the workspace.
 * `close` closes the rooms (transcripts stay).
 */
export function servedSessions(options: ServedSessionsOptions) {
  const slots = serverSlots(options.config);
  // The sessions' private copies of the workspace (write view), of the rooms and of `POST /v1/tools/:name/run`.
  const workspaceCopies = new WorkspaceCopies();
  const opener = roomOpener(options, workspaceCopies, options.logError);
  const sessions = openSessions(options, opener, slots);
  return {
    slots,
    workspaceCopies,
    opener,
    sessions,
    async close(): Promise<void> {
      await sessions.close();
      await opener.close();
    },
  };
}

/** The room and its tools over HTTP, as a `(Request) → Response` function; `Bun.serve` only wraps it. */
export function createServeHandler(options: ServeHandlerOptions): ServeHandler {
  const { config, workspaceDir, tools } = options;
  const metrics = new ServeMetrics();
  const settings = toolRunSettings({
    serve: config.serve,
    sandbox: options.sandboxPolicy,
    profile: options.profile ?? "dev",
    version: options.version,
  });
  const logError = options.logError ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { slots, workspaceCopies, opener, sessions } = servedSessions({ ...options, logError });
  const jobs = openJobs(options, sessions, logError);
  const auth = requestAuth({
    ...(options.apiToken !== undefined ? { apiToken: options.apiToken } : {}),
    ...(options.hmac ? { hmac: options.hmac } : {}),
    maxBodyBytes: config.serve.maxBodyBytes,
    workspaceDir,
    fsync: options.jobs?.fsync ?? false,
  });
  const mcp = createMcpHttp({
    config,
    workspaceDir,
    tools,
    workspaceCopies,
    ...(options.audit ? { audit: options.audit } : {}),
    version: options.version,
    logError,
    sandbox: options.sandbox,
    sandboxPolicy: options.sandboxPolicy,
  });
  const routes = [
    ...routeTable(options, {
      metrics,
      settings,
      opener,
      slots,
      sessions,
      jobs: jobs.routes,
      mcp,
      workspaceCopies,
      logError,
      streamTicket: () => auth.streamTicket(),
    }),
    streamTicketRoute(auth, config.serve.maxBodyBytes),
  ];
  // A promotion or rollback taken without a restart reaches the open rooms at once, each saying so to its watchers.
  const unlisten = tools.onReload((result) => {
    if (result.reloaded) sessions.offerPromotedTools(tools.generated(), logError);
  });
  // Outermost first: every answer carries the browser's security headers, metrics see every answer, each answer has its request id, errors become
  // answers, and the
  // Host/Origin checks come before auth.
  const answer = createRouter(routes, [
    securityHeadersMiddleware,
    metricsMiddleware(metrics),
    requestIdMiddleware,
    errorMiddleware(logError),
    hostOriginMiddleware({ loopbackOnly: options.loopbackOnly ?? false }),
    authMiddleware(auth),
  ]);

  return {
    fetch: answer,
    routes,
    metrics,
    sessions,
    authRequired: auth.required,
    async close() {
      unlisten();
      await jobs.queue.close();
      await mcp.close();
      await sessions.close();
      await opener.close();
      auth.close();
    },
  };
}
