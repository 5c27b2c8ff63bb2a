import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";
import { environmentSettings } from "../config/environment.ts";
import { CONFIG_FILE_NAME, loadOrgConfig } from "../config/org-config.ts";
import { AuditLog } from "../security/audit-log.ts";
import { sanitizeForTerminal } from "../security/terminal-sanitizer.ts";
import { createServeHandler } from "../serve/serve-handler.ts";
import { ServedTools } from "../serve/served-tools.ts";
import { startServe } from "../serve/start-serve.ts";
import { pythonRun } from "../tools/python-run.ts";
import { sh } from "../tools/sh.ts";
import { toolsmithJob } from "../toolsmith/toolsmith-job.ts";
import { workflowRun } from "../workflows/workflow-run-tool.ts";
import { type Command, UsageError, UserFacingError } from "./command.ts";
import { parseCommandArgs } from "./parse-command-args.ts";
import { prepareWorkspace } from "./workspace-dir.ts";

const HELP = `Usage: org serve [--port N] [--host H] [--config FILE] [--workspace DIR]

The room and its tools over HTTP: the same room as 'chat', each session's events as server-sent events.

Options:
  --port N           port to listen on (default 7001; 0 picks a free one and prints it)
  --host H           address to bind (default 127.0.0.1; any other needs ORG_API_TOKEN)
  --config FILE      room configuration (default: org.config.json in the workspace)
  --workspace DIR    where .org/ (sessions, audit, scratch) lives (default: current directory)

Routes:
  GET  /health                 { ok, version, commit, branch, tools, uptimeS } (never needs the token)
  POST /v1/messages            { text, mode?, session?, request_id? } → the room's events as SSE
  GET  /v1/tools               the tools, their parameters and their HTTP policy
  POST /v1/tools/NAME/run      { inputs } → { ok, output } (sandboxed; only tools serve.tools marks "allow")
  GET  /metrics                Prometheus text
  POST /v1/admin/reload        take a new HEAD's generated tools now (done by itself every 2 s)

Environment: ORG_API_TOKEN turns on 'Authorization: Bearer <token>' for every route but /health.

Example:
  org serve --port 7001
  curl -N http://127.0.0.1:7001/v1/messages -H 'content-type: application/json' -d '{"text":"hello"}'`;

/** How often the server looks at its checkout's HEAD for a promotion or rollback to take. */
const HEAD_CHECK_MS = 2_000;
/** How long a stopping server lets running turns finish before it stops them: org exits within 2 s of a signal. */
const DRAIN_MS = 500;

function parseOptions(args: string[]) {
  const { values } = parseCommandArgs("serve", args, {
    port: { type: "string" },
    host: { type: "string" },
    config: { type: "string" },
    workspace: { type: "string" },
  });
  const port = Number(values.port ?? 7001);
  if (values.port !== undefined && (!/^\d+$/.test(values.port) || port > 65_535)) {
    throw new UsageError(`--port must be a number from 0 to 65535, not '${values.port}'`, "serve");
  }
  return { port, host: values.host ?? "127.0.0.1", config: values.config, workspace: values.workspace };
}

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${sanitizeForTerminal(line)}\n`);
}

/** `org serve`: the room and tools over HTTP until SIGTERM or Ctrl-C. */
export const serveCommand: Command = {
  name: "serve",
  summary: "the room and its tools over HTTP (health, SSE messages, tools, metrics)",
  help: HELP,
  async run(args, signal) {
    const options = parseOptions(args);
    const workspaceDir = prepareWorkspace(options.workspace ?? process.cwd());
    if (options.config !== undefined && !existsSync(options.config)) {
      throw new UserFacingError(`no config file at ${options.config}. Check the path, or leave out --config to use the defaults.`);
    }
    const config = loadOrgConfig(options.config ?? join(workspaceDir, CONFIG_FILE_NAME));
    const { apiToken } = environmentSettings();
    const version = (JSON.parse(readFileSync(join(CHECKOUT_DIR, "package.json"), "utf8")) as { version?: string }).version ?? "unknown";
    const tools = await ServedTools.open(CHECKOUT_DIR, [sh, pythonRun, workflowRun]);
    const handler = createServeHandler({
      config,
      workspaceDir,
      tools,
      version,
      ...(apiToken !== undefined ? { apiToken } : {}),
      audit: new AuditLog(join(workspaceDir, ".org", "audit")),
      toolsmithJob: toolsmithJob({ repoDir: CHECKOUT_DIR, settings: config.toolsmith }),
      // No token means loopback only (checked at start): then refuse what a browser page could send.
      loopbackOnly: apiToken === undefined,
      logError: log,
    });
    const server = startServe({ handler, host: options.host, port: options.port });
    tools.watch(HEAD_CHECK_MS, (result) => {
      if (result.restartNeeded) log(`HEAD moved; not reloaded: ${result.restartNeeded}`);
      else log(`reloaded tools at ${result.commit?.slice(0, 12)}: added ${result.added.join(", ") || "none"}, removed ${result.removed.join(", ") || "none"}`);
    });
    for (const problem of tools.problems) log(`not offered: tools/generated/${problem.name}: ${problem.problem}`);
    const names = tools.all().map((entry) => entry.tool.name);
    console.log(
      `org serve listening on ${server.url} (commit ${tools.commit?.slice(0, 12) ?? "none"}${tools.branch ? ` on ${tools.branch}` : ""}; tools: ${names.join(", ")}; auth ${apiToken ? "on" : "off"})`,
    );

    const stopping = new AbortController();
    const onStop = () => stopping.abort();
    signal.addEventListener("abort", onStop, { once: true });
    process.on("SIGINT", onStop);
    try {
      if (!signal.aborted) await new Promise((resolve) => stopping.signal.addEventListener("abort", resolve, { once: true }));
      log("stopping: no new requests; running turns get up to 0.5 s");
      tools.stop();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([server.stop(false), new Promise((resolve) => (timer = setTimeout(resolve, DRAIN_MS)))]);
      clearTimeout(timer);
      await handler.close();
      await server.stop(true);
      log("stopped");
      return 0;
    } finally {
      signal.removeEventListener("abort", onStop);
      process.off("SIGINT", onStop);
    }
  },
};
