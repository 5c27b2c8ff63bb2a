import { join } from "node:path";
import type { OrgConfig } from "../config/org-config.ts";
import type { RoomEvent } from "../room/room-event.ts";
import { openRoom, RoomModeError, serverSlots, type TranscriptIndex } from "../room/room.ts";
import { formatRoomMode } from "../room/room-mode.ts";
import { SessionNotFoundError } from "../room/transcript.ts";
import type { AuditSink } from "../security/audit-log.ts";
import type { ToolsmithJob } from "../models/toolsmith-model.ts";
import { offerToAgents } from "../toolsmith/promoted-tools.ts";
import { runTool, toolSet } from "../tools/define-tool.ts";
import { MessageRequest, RequestId, ToolRunRequest } from "./api-schemas.ts";
import { errorResponse, HttpError } from "./http-error.ts";
import { readJsonBody } from "./read-json-body.ts";
import type { ServedTools } from "./served-tools.ts";
import { ServeMetrics } from "./serve-metrics.ts";
import { SessionPool } from "./session-pool.ts";
import { createMcpHttp } from "./mcp-http.ts";
import { createOpenAiChat } from "./openai-chat.ts";
import { roomEventStream } from "./room-event-stream.ts";
import { JobsLog } from "./jobs-log.ts";
import { JobsQueue } from "./jobs-queue.ts";
import { jobsRoutes, sessionJobRunner } from "./jobs-routes.ts";
import { requestAuth } from "./request-auth.ts";
import type { Health } from "../fitness/instance-health.ts";

export type ServeHandlerOptions = {
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
  /** ORG_API_HMAC_SECRET and ORG_API_HMAC_TTL_S: signed requests, an alternative to the bearer token. */
  hmac?: { secret: string; ttlS: number };
  /** `POST /v1/jobs`: workers (default 2), request_id TTL (default 300 s), whether the log is fsynced. */
  jobs?: { workers?: number; dedupTtlS?: number; fsync?: boolean; compactAbove?: number };
  /** ORG_PROFILE, shown by /health. */
  profile?: "dev" | "prod";
};

export type ServeHandler = {
  /** Answers one request; never throws. */
  fetch(request: Request): Promise<Response>;
  readonly metrics: ServeMetrics;
  readonly sessions: SessionPool;
  /** Whether every route but /health asks for the bearer token. */
  readonly authRequired: boolean;
  /** Stops every running turn and closes the rooms (transcripts stay). */
  close(): Promise<void>;
};

/** A path segment decoded; one that is not valid percent-encoding stays as it came (no tool has such a name). */
function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

type Route = { pattern: string; method: string; match: (path: string) => Record<string, string> | undefined };

function route(method: string, pattern: string): Route {
  const names: string[] = [];
  const regex = new RegExp(
    `^${pattern.replace(/:(\w+)/g, (_, name: string) => {
      names.push(name);
      return "([^/]+)";
    })}$`,
  );
  return {
    pattern,
    method,
    match: (path) => {
      const found = regex.exec(path);
      return found ? Object.fromEntries(names.map((name, index) => [name, decodePart(found[index + 1] as string)])) : undefined;
    },
  };
}

const ROUTES = {
  health: route("GET", "/health"),
  messages: route("POST", "/v1/messages"),
  tools: route("GET", "/v1/tools"),
  toolRun: route("POST", "/v1/tools/:name/run"),
  metrics: route("GET", "/metrics"),
  reload: route("POST", "/v1/admin/reload"),
  jobs: route("POST", "/v1/jobs"),
  job: route("GET", "/v1/jobs/:id"),
  jobEvents: route("GET", "/v1/jobs/:id/events"),
  models: route("GET", "/v1/models"),
  model: route("GET", "/v1/models/:id"),
  chatCompletions: route("POST", "/v1/chat/completions"),
  mcpPost: route("POST", "/mcp"),
  mcpGet: route("GET", "/mcp"),
  mcpDelete: route("DELETE", "/mcp"),
};

const LOOPBACK_NAME = /^(127(\.\d{1,3}){3}|localhost|\[::1\])(:\d+)?$/i;

/** 403 unless the request names a loopback host and, when it has an Origin, comes from a loopback page. */
function refuseForeignCaller(request: Request): void {
  const host = request.headers.get("host") ?? new URL(request.url).host;
  if (!LOOPBACK_NAME.test(host)) {
    throw new HttpError(403, `this server answers only requests to 127.0.0.1 or localhost (Host was ${JSON.stringify(host.slice(0, 100))}); set ORG_API_TOKEN to serve other names.`);
  }
  const origin = request.headers.get("origin");
  if (origin !== null && !(URL.canParse(origin) && LOOPBACK_NAME.test(new URL(origin).host))) {
    throw new HttpError(403, `requests from web pages (Origin ${JSON.stringify(origin.slice(0, 100))}) are refused; call the API from a program, or set ORG_API_TOKEN.`);
  }
}

/** The room and its tools over HTTP, as a `(Request) → Response` function; `Bun.serve` only wraps it. */
export function createServeHandler(options: ServeHandlerOptions): ServeHandler {
  const { config, workspaceDir, tools } = options;
  const metrics = new ServeMetrics();
  const slots = serverSlots(config);
  const logError = options.logError ?? ((line: string) => process.stderr.write(`${line}\n`));
  const sessions = new SessionPool({
    turns: config.serve.turns,
    queue: config.serve.queue,
    maxOpen: options.maxOpenSessions ?? 256,
    ...(options.maxOpenChars !== undefined ? { maxOpenChars: options.maxOpenChars } : {}),
    generation: () => tools.generation,
    open: ({ resume, onEvent, requestId }) =>
      openRoom({
        // As in chat: promoted generated tools are offered to agent personas ("ask" unless the config says).
        config: { ...config, personas: offerToAgents(config.personas, tools.generated().map((tool) => tool.name)) },
        workspaceDir,
        tools: tools.all().map((entry) => entry.tool),
        ...(options.toolsmithJob ? { toolsmithJob: options.toolsmithJob } : {}),
        ...(options.memory ? { memory: options.memory } : {}),
        serverSlots: slots,
        ...(resume !== undefined ? { resume } : {}),
        // Requests of one session run one at a time, so the session's current request id is the one a tool ran for.
        ...(options.audit ? { audit: { record: (entry) => options.audit?.record({ ...entry, requestId: entry.requestId ?? requestId() }) } } : {}),
        onEvent,
      }),
  });

  const jobsQueue = new JobsQueue({
    log: new JobsLog(workspaceDir, options.jobs?.fsync ?? false),
    run: sessionJobRunner(sessions),
    workers: options.jobs?.workers ?? 2,
    dedupTtlS: options.jobs?.dedupTtlS ?? 300,
    ...(options.jobs?.compactAbove !== undefined ? { compactAbove: options.jobs.compactAbove } : {}),
    logError,
  });
  jobsQueue.start();
  const jobs = jobsRoutes(jobsQueue, { maxBodyBytes: config.serve.maxBodyBytes, secrets: config.secrets });
  const auth = requestAuth({ ...(options.apiToken !== undefined ? { apiToken: options.apiToken } : {}), ...(options.hmac ? { hmac: options.hmac } : {}), maxBodyBytes: config.serve.maxBodyBytes });
  const mcp = createMcpHttp({ config, workspaceDir, tools, version: options.version, logError });
  const openAi = createOpenAiChat({
    config,
    startedAt: metrics.startedAt,
    maxBodyBytes: config.serve.maxBodyBytes,
    // The same room a session gets, with the client's messages as its past.
    openRoom: ({ history, requestId, onEvent }) =>
      openRoom({
        config: { ...config, personas: offerToAgents(config.personas, tools.generated().map((tool) => tool.name)) },
        workspaceDir,
        tools: tools.all().map((entry) => entry.tool),
        ...(options.toolsmithJob ? { toolsmithJob: options.toolsmithJob } : {}),
        serverSlots: slots,
        history,
        ...(options.audit ? { audit: { record: (entry) => options.audit?.record({ ...entry, requestId: entry.requestId ?? requestId }) } } : {}),
        onEvent,
      }),
    slot: (signal) => sessions.toolSlot(signal),
    observe: (event) => {
      if (event.type !== "turn-end") return;
      for (const [persona, stats] of Object.entries(event.stats)) {
        metrics.tokens.add({ persona, kind: "prompt" }, stats.promptTokens);
        metrics.tokens.add({ persona, kind: "completion" }, stats.completionTokens);
      }
    },
    readBody: readJsonBody,
    logError,
  });

  async function health(): Promise<Response> {
    return Response.json({
      ok: true,
      profile: options.profile ?? "dev",
      version: options.version,
      commit: tools.commit,
      branch: tools.branch,
      tools: tools.all().map((entry) => entry.tool.name),
      uptimeS: Math.round((Date.now() - metrics.startedAt) / 1000),
      ...(tools.restartNeeded ? { restartNeeded: tools.restartNeeded } : {}),
    } satisfies Health);
  }

  function listTools(): Response {
    return Response.json({
      commit: tools.commit,
      tools: tools.all().map(({ tool, origin }) => ({
        name: tool.name,
        origin,
        description: tool.description,
        parameters: tool.definition.function.parameters,
        http: config.serve.tools[tool.name] ?? (origin === "generated" ? config.serve.generatedTools : "ask"),
      })),
      ...(tools.problems.length > 0 ? { notOffered: tools.problems } : {}),
    });
  }

  async function runToolRoute(request: Request, name: string, requestId: string): Promise<Response> {
    const body = await readJsonBody(request, ToolRunRequest, config.serve.maxBodyBytes);
    const offered = toolSet(tools.all().map((entry) => entry.tool));
    const tool = offered.get(name);
    if (!tool) throw new HttpError(404, `there is no tool "${name}"; GET /v1/tools lists them (${[...offered.keys()].join(", ")}).`);
    const generated = tools.all().some((entry) => entry.origin === "generated" && entry.tool.name === name);
    const policy = config.serve.tools[name] ?? (generated ? config.serve.generatedTools : "ask");
    if (policy !== "allow") {
      const why = policy === "deny" ? `serve.tools.${name} is "deny"` : `${name} needs approval ("ask"), and nobody can approve over HTTP`;
      throw new HttpError(403, `${why}; set "serve": { "tools": { "${name}": "allow" } } in org.config.json to run it over HTTP.`);
    }
    const parsed = tool.parameters.safeParse(body.inputs);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue: { path: PropertyKey[]; message: string }) => `inputs.${issue.path.map(String).join(".") || "(all)"}: ${issue.message}`);
      throw new HttpError(400, `the inputs do not fit ${name}'s parameters: ${issues.join("; ")}. GET /v1/tools shows its schema.`);
    }
    const lease = await sessions.toolSlot(request.signal);
    const started = performance.now();
    try {
      const result = await runTool(offered, { name, arguments: body.inputs }, {
        signal: request.signal,
        workspaceDir,
        sessionId: "http",
        persona: "http",
        requestId: body.request_id ?? requestId,
        ...(options.audit ? { audit: options.audit } : {}),
      });
      const seconds = (performance.now() - started) / 1000;
      metrics.recordToolRun(name, result.ok, seconds);
      return Response.json({
        tool: name,
        ok: result.ok,
        output: result.output,
        ...(result.data !== undefined ? { data: result.data } : {}),
        exitCode: result.exitCode ?? null,
        durationMs: Math.round(seconds * 1000),
      });
    } finally {
      lease();
    }
  }

  async function messages(request: Request, requestId: string): Promise<Response> {
    const body = await readJsonBody(request, MessageRequest, config.serve.maxBodyBytes);
    const id = body.request_id ?? requestId;
    const stop = new AbortController();
    const signal = AbortSignal.any([request.signal, stop.signal]);
    let lease: Awaited<ReturnType<SessionPool["lease"]>>;
    try {
      lease = await sessions.lease(body.session, id, signal);
    } catch (error) {
      if (error instanceof SessionNotFoundError) throw new HttpError(404, error.message);
      throw error;
    }
    // Events before the stream starts (a mode change) wait for it.
    const early: RoomEvent[] = [];
    lease.listen((event) => early.push(event));
    if (body.mode !== undefined && body.mode !== formatRoomMode(lease.room.mode)) {
      try {
        lease.room.setMode(body.mode);
      } catch (error) {
        lease.release();
        if (error instanceof RoomModeError) throw new HttpError(400, `mode: ${error.message}`);
        throw error;
      }
    }
    const offered = new Set(tools.all().map((entry) => entry.tool.name));
    const observe = (event: RoomEvent) => {
      // The name comes from the model: one it made up counts as "(unknown)", so it cannot add series at will.
      if (event.type === "tool-result") metrics.recordToolRun(offered.has(event.call.name) ? event.call.name : "(unknown)", event.ok, event.durationMs / 1000);
      if (event.type === "turn-end") {
        for (const [persona, stats] of Object.entries(event.stats)) {
          metrics.tokens.add({ persona, kind: "prompt" }, stats.promptTokens);
          metrics.tokens.add({ persona, kind: "completion" }, stats.completionTokens);
        }
      }
    };
    const stream = roomEventStream({
      signal,
      cancel: (reason) => stop.abort(reason),
      run: async (send) => {
        for (const event of early) send(event);
        lease.listen((event) => {
          observe(event);
          send(event);
        });
        metrics.turnsInProgress(1);
        const started = performance.now();
        try {
          await lease.room.send(body.text, { signal });
        } finally {
          metrics.turnsInProgress(-1);
          metrics.turnSeconds.observe({}, (performance.now() - started) / 1000);
          lease.release();
        }
      },
      onError: (error) => logError(`serve: turn of session ${lease.sessionId} (request ${id}) failed: ${error instanceof Error ? error.stack : String(error)}`),
    });
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        "x-org-session": lease.sessionId,
        "x-request-id": id,
      },
    });
  }

  async function reload(): Promise<Response> {
    const result = await tools.reload();
    return Response.json(result, { status: result.reloaded ? 200 : 409 });
  }

  async function dispatch(given: Request, path: string, requestId: string): Promise<Response> {
    if (options.loopbackOnly) refuseForeignCaller(given);
    if (path === ROUTES.health.pattern && given.method === "GET") return health();
    const request = await auth.check(given);
    const matched = Object.values(ROUTES).filter((candidate) => candidate.match(path));
    const found = matched.find((candidate) => candidate.method === request.method);
    if (!found) {
      if (matched.length === 0) throw new HttpError(404, `no route ${path.slice(0, 200)}; the routes are GET /health, POST /v1/messages, POST /v1/jobs, GET /v1/jobs/:id, GET /v1/jobs/:id/events, GET /v1/tools, POST /v1/tools/:name/run, GET /metrics, POST /v1/admin/reload, GET /v1/models, POST /v1/chat/completions, /mcp.`);
      const allowed = matched.map((candidate) => candidate.method).join(", ");
      throw new HttpError(405, `${request.method} is not allowed on ${path.slice(0, 200)}; use ${allowed}.`, { allow: allowed });
    }
    const params = found.match(path) as Record<string, string>;
    switch (found) {
      case ROUTES.messages:
        return messages(request, requestId);
      case ROUTES.tools:
        return listTools();
      case ROUTES.toolRun:
        return runToolRoute(request, params.name as string, requestId);
      case ROUTES.metrics:
        return new Response(metrics.render({ sessionsOpen: sessions.size }), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } });
      case ROUTES.reload:
        return reload();
      case ROUTES.jobs:
        return jobs.post(request);
      case ROUTES.job:
        return jobs.get(params.id as string);
      case ROUTES.jobEvents:
        return jobs.events(request, params.id as string);
      case ROUTES.models:
        return openAi.models();
      case ROUTES.model:
        return openAi.model(params.id as string);
      case ROUTES.chatCompletions:
        return openAi.completions(request, requestId);
      case ROUTES.mcpPost:
      case ROUTES.mcpGet:
      case ROUTES.mcpDelete:
        return mcp.handle(request);
      default:
        return health();
    }
  }

  async function fetch(request: Request): Promise<Response> {
    const started = performance.now();
    const given = request.headers.get("x-request-id");
    const requestId = given !== null && RequestId.safeParse(given).success ? given : crypto.randomUUID();
    // HTTP/1.0 may leave out Host; Bun then hands over a URL with no origin, which `new URL` refuses.
    if (!URL.canParse(request.url)) {
      const response = errorResponse(400, "the request has no Host header (HTTP/1.0 without Host?); send 'Host: 127.0.0.1:<port>' or use HTTP/1.1.");
      response.headers.set("x-request-id", requestId);
      metrics.recordRequest("unmatched", request.method, 400, (performance.now() - started) / 1000);
      return response;
    }
    const path = new URL(request.url).pathname;
    // Metrics count by route pattern, never by raw path: a scan of random paths adds one series, not thousands.
    const pattern = Object.values(ROUTES).find((candidate) => candidate.match(path))?.pattern ?? "unmatched";
    let response: Response;
    try {
      response = await dispatch(request, path, requestId);
    } catch (error) {
      if (error instanceof HttpError) {
        response = errorResponse(error.status, error.message, error.headers);
      } else if (request.signal.aborted) {
        response = errorResponse(400, "the client went away before the answer.");
      } else {
        logError(`serve: request ${requestId} ${request.method} ${request.url} failed: ${error instanceof Error ? error.stack : String(error)}`);
        response = errorResponse(500, `the server failed on this request; its log has the details under request id ${requestId}.`);
      }
    }
    if (!response.headers.has("x-request-id")) response.headers.set("x-request-id", requestId);
    metrics.recordRequest(pattern, request.method, response.status, (performance.now() - started) / 1000);
    return response;
  }

  return {
    fetch,
    metrics,
    sessions,
    authRequired: auth.required,
    async close() {
      await jobsQueue.close();
      await mcp.close();
      await sessions.close();
    },
  };
}
