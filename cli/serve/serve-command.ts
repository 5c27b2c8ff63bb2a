import type { Command } from "../command/command.ts";
import { nameAndSummary } from "../command/command-summaries.ts";
import { runServe } from "./run-serve.ts";

const HELP =
  `Usage: org serve [--port N] [--host H] [--config FILE] [--workspace DIR] [--workers N] ` +
  `[--grow-every DURATION] [--supervise] [--telegram] [--unsafe-no-sandbox]

The room and its tools over HTTP: the same room as 'chat', each session's events as server-sent events.

Options:
  --port N           port to listen on (default 7001; 0 picks a free one and prints it)
  --host H           address to bind (default 127.0.0.1; any other needs ORG_API_TOKEN or ORG_API_HMAC_SECRET)
  --config FILE      room configuration (default: org.config.json in the workspace)
  --workspace DIR    where .org/ (sessions, audit, scratch) lives (default: current directory)
  --unsafe-no-sandbox  confirms ORG_SANDBOX=off: serve refuses to start with it unless both are given,
                     since every model-made command then runs UNSANDBOXED on this host
  --workers N        jobs (POST /v1/jobs) run at once, in order of arrival (default 2)
  --grow-every DURATION  run org grow inside serve now and then every DURATION ("1h", "30m", "1h30m"): the
                     workspace's sessions grow the checkout serve runs from, by the workspace's "grow" settings;
                     serve takes each promotion or rollback itself (see org grow --help). Each run's summary is logged.
  --supervise        run org supervise inside serve: a round of checks now and every supervise.every, for the
                     workspace and the checkout serve runs from (see org supervise --help); what it does is logged.
  --telegram         run the Telegram bot inside serve (see org telegram --help): the chats of telegram.allowedChats,
                     each a session of this server's, so the web room and the HTTP API see it too. Needs TELEGRAM_BOT_TOKEN.

Routes:
  GET  /health                 { ok, profile, version, commit, branch, tools, uptimeS } (no token needed)
  POST /v1/messages            { text, mode?, session?, request_id? } → the room's events as SSE
  GET  /v1/sessions            the sessions (those of org chat too), newest first: { sessions: [{ id, title, … }] }
  POST /v1/sessions            { mode? } → 201 { session }: a new session
  GET  /v1/sessions/ID         its transcript, its stream's seq, personas, open approval questions
  GET  /v1/sessions/ID/events  every event of the session's room as SSE (id: seq), resumable with Last-Event-ID
  POST /v1/sessions/ID/messages  { text, mode? } → 202 { session, turnId }; the turn's events come on /events
  POST /v1/sessions/ID/approvals/AID  { answer: yes|no|always } → the first answer wins, later ones 409
  POST /v1/sessions/ID/stop    {} → { stopped }: stops the running replies
  POST /v1/jobs                { text, mode?, request_id? } → 202 { id, state }, logged before the answer
  GET  /v1/jobs/ID             { id, state, events }: state queued, running, done or failed
  GET  /v1/jobs/ID/events      the job's events as SSE, resumable with Last-Event-ID
  GET  /v1/tools               the tools, their parameters and their HTTP policy
  POST /v1/tools/NAME/run      { inputs } → { ok, output } (sandboxed; only tools serve.tools marks "allow")
  GET  /metrics                Prometheus text
  POST /v1/admin/reload        take a new HEAD's generated tools now (done by itself on a promotion)
  GET  /v1/models[/ID]         OpenAI's model list: each persona, and "org" (the whole group)
  POST /v1/chat/completions    OpenAI's chat API (stream or not): model = a persona or "org"
  POST|GET|DELETE /mcp         the generated tools and workflows over MCP's Streamable HTTP transport

Environment:
  ORG_API_TOKEN          'Authorization: Bearer <token>' on every route but /health
  ORG_API_HMAC_SECRET    or signed requests: x-org-timestamp (Unix seconds) and
                         x-org-signature: sha256=<hex HMAC-SHA256 of METHOD\\nPATH\\nTIMESTAMP\\nBODY>;
                         with x-org-content-sha256: <hex SHA-256 of the body>, of
                         METHOD\\nPATH\\nTIMESTAMP content-sha256=<that hex>\\n (checked before the body is read)
  ORG_API_HMAC_TTL_S     how old a signed request may be; replays within it are refused (default 60)
  ORG_API_HMAC_BODY_TIMEOUT_S  how long a signed request's body may take to arrive; past it 408
                         and the connection closed (default 10)
  ORG_API_HMAC_BODIES_PER_CLIENT  signed bodies one client address may be sending at once, read
                         before their signature can be checked (no x-org-content-sha256); past it
                         429 (default 8; every loopback address counts as one client)
  ORG_SERVE_DEDUP_TTL_S  how long a job's request_id returns the same job (default 300)
  ORG_SERVE_JOB_TTL_S    how long a finished job and its result are kept (default 86400, a day)
  ORG_SERVE_JOB_QUEUE_MAX  jobs that may wait; past it POST /v1/jobs is 429 with Retry-After (default 1000)
  ORG_SERVE_JOB_LOG_COMPACT_BYTES  job log size past which it is compacted once mostly dead (default 1048576)
  ORG_PROFILE            dev (default) or prod: prod needs a token or HMAC secret even on loopback,
                         fsyncs the job log and transcripts, refuses ORG_SANDBOX=off and makes
                         web_fetch default-deny. ORG_FSYNC=on|off set explicitly wins over the profile.
  ORG_SANDBOX=off        counts only from the environment serve is started in (never from a .env
                         file), and only with --unsafe-no-sandbox.

Example:
  org serve --port 7001
  curl -N http://127.0.0.1:7001/v1/messages -H 'content-type: application/json' -d '{"text":"hello"}'
  OPENAI_BASE_URL=http://127.0.0.1:7001/v1 OPENAI_API_KEY=$ORG_API_TOKEN   # for any OpenAI client`;

/** `org serve`: the room and tools over HTTP until SIGTERM or Ctrl-C. */
export const serveCommand: Command = {
  ...nameAndSummary("serve"),
  help: HELP,
  run: (args, signal) =>
    runServe(args, signal, {
      policies: "serve",
      command: "serve",
      defaultPort: 7001,
      token: (fromEnvironment) => fromEnvironment,
      announce: ({ url, token, hmac, tools, options, profile }) => {
        const names = tools.all().map((entry) => entry.tool.name);
        return (
          `org serve listening on ${url} (commit ` +
          `${tools.commit?.slice(0, 12) ?? "none"}${tools.branch ? ` on ${tools.branch}` : ""}; tools: ` +
          `${names.join(", ")}; auth ${token || hmac ? "on" : "off"}; profile ${profile}; ${options.workers} job workers)`
        );
      },
    }),
};
