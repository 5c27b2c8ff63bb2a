// What org serve and org web run: parse serve's flags, assemble the served room, bind, serve until stopped.
import { loadCommandConfig } from "../command/command-config.ts";
import { describeFailure } from "../command/report-failure.ts";
import { join, resolve } from "node:path";
import { CHECKOUT_DIR } from "../../config/workspace-paths.ts";
import { instanceSettings, processEnvironment, serveEnvironment } from "../../config/environment.ts";
import { CONFIG_FILE_NAME } from "../../config/workspace-paths.ts";
import { loadOrgConfig, type OrgConfig } from "../../config/org-config.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { createServeHandler } from "../../serve/serve-handler.ts";
import type { ServedTools } from "../../serve/served-tools.ts";
import { sandboxAccessFrom } from "../../assembly/sandbox-policy-from.ts";
import type { Sandbox, SandboxAccess } from "../../sandbox/run-sandboxed.ts";
import { orgVersion } from "../../config/version.ts";
import { bindServe, type RunningServe } from "../../serve/start-serve.ts";
import { type PageAssets, pageAssets } from "../../web/page-assets.ts";
import { webRoutes } from "../../web/web-routes.ts";
import { servedParts } from "./served-parts.ts";
import { followServeConfig } from "./serve-config-reload.ts";
import { RoomConfig } from "../../serve/room-config.ts";
import type { RoomPolicySource } from "../../serve/http-tool-policy.ts";
import { UsageError } from "../command/command.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";
import { prepareWorkspace } from "../command/workspace-dir.ts";
import { checkSandboxOffConsent } from "../command/sandbox-off-consent.ts";
import { growProgressLine } from "../grow/grow-lines.ts";
import { Duration, formatDuration } from "../../config/duration.ts";
import { sleep } from "../../concurrency/sleep.ts";
import { RepoGit } from "../../git/repo-git.ts";
import { OrgError } from "../../errors/org-error.ts";

/** How long a stopping server lets running turns finish before it stops them: org exits within 2 s of a signal. */
const DRAIN_MS = 500;

/** `org serve`'s flags, which `org web` takes too (with its own name and default port). */
export function parseServeOptions(args: string[], command: "serve" | "web" = "serve", defaultPort = 7001) {
  const { values } = parseCommandArgs(command, args, {
    port: { type: "string" },
    host: { type: "string" },
    config: { type: "string" },
    workspace: { type: "string" },
    "unsafe-no-sandbox": { type: "boolean" },
    workers: { type: "string" },
    "grow-every": { type: "string" },
    supervise: { type: "boolean" },
    telegram: { type: "boolean" },
  });
  const port = Number(values.port ?? defaultPort);
  if (values.port !== undefined && (!/^\d+$/.test(values.port) || port > 65_535)) {
    throw new UsageError(`--port must be a number from 0 to 65535, not '${values.port}'`, command);
  }
  const workers = Number(values.workers ?? 2);
  if (values.workers !== undefined && (!/^\d+$/.test(values.workers) || workers < 1 || workers > 64)) {
    throw new UsageError(`--workers must be a number from 1 to 64, not '${values.workers}'`, command);
  }
  const parsedEvery = values["grow-every"] === undefined ? undefined : Duration.safeParse(values["grow-every"]);
  if (parsedEvery?.success === false) {
    throw new UsageError(`--grow-every needs a duration from 1s to 365d such as 1h, 30m or 1h30m, not '${values["grow-every"]}'`, command);
  }
  const growEvery = parsedEvery?.data;
  if (growEvery !== undefined && !RepoGit.isCheckout(CHECKOUT_DIR)) {
    throw new OrgError(
      `--grow-every grows the checkout serve runs from, and ${CHECKOUT_DIR} is not a git checkout; run org from a clone of org to grow it`,
    );
  }
  return {
    growEvery,
    supervise: values.supervise ?? false,
    telegram: values.telegram ?? false,
    port,
    host: values.host ?? "127.0.0.1",
    config: values.config,
    workspace: values.workspace,
    workers,
    unsafeNoSandbox: values["unsafe-no-sandbox"] ?? false,
  };
}

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${sanitizeForTerminal(line)}\n`);
}

/**
 * `--grow-every`: org grow in this process, a run now and then every `everyMs`, growing the checkout serve runs from
 * with the workspace's sessions. No restart after a promotion: serve follows its checkout's HEAD by itself.
 */
function startGrowing(serveOptions: ServeOptions, workspaceDir: string, sandbox: Sandbox, signal: AbortSignal): Promise<void> | undefined {
  if (serveOptions.growEvery === undefined) return undefined;
  const options = { everyMs: serveOptions.growEvery, workspaceDir, configFile: serveOptions.config ?? join(workspaceDir, CONFIG_FILE_NAME), signal };
  const say = (line: string) => log(`grow: ${line}`);
  log(`grow: org grow runs in serve now and every ${formatDuration(options.everyMs)} (--grow-every), growing ${CHECKOUT_DIR}`);
  return (async () => {
    const [{ growEvery }, { growRequest }, { runGrow }, { summaryLine }, { growPause }] = await Promise.all([
      import("../../grow/grow-every.ts"),
      import("../../grow/grow-request.ts"),
      import("../../grow/run-grow.ts"),
      import("../../grow/grow-report.ts"),
      import("../../grow/grow-pause.ts"),
    ]);
    await growEvery({
      everyMs: options.everyMs,
      // The config is read again for each run: a change to the "grow" settings counts from the next run.
      run: () =>
        runGrow(
          growRequest({
            sandbox,
            workspaceDir: options.workspaceDir,
            repoDir: CHECKOUT_DIR,
            config: loadOrgConfig(options.configFile, processEnvironment(), { workspaceDir: options.workspaceDir }),
            dryRun: false,
            command: `org serve --grow-every ${formatDuration(options.everyMs)} (pid ${process.pid})`,
            onProgress: (progress) => {
              const line = growProgressLine(progress);
              if (line !== undefined) say(line);
            },
            signal: options.signal,
          }),
        ),
      onRun: (outcome) => say(`${summaryLine(outcome.report)}${outcome.path ? ` (report ${outcome.path})` : ""}`),
      say,
      describe: describeFailure,
      paused: () => growPause(options.workspaceDir),
      signal: options.signal,
    });
  })().catch((error) => say(`stopped: ${describeFailure(error)}`));
}

/**
 * `--supervise`: org supervise in this process, for the workspace and the checkout serve runs from, its lines in serve's
 * log. A round under way when serve stops ends with it.
 */
function startSupervising(serveOptions: ServeOptions, workspaceDir: string, sandbox: Sandbox, signal: AbortSignal): Promise<void> | undefined {
  if (!serveOptions.supervise) return undefined;
  const say = (line: string) => log(`supervise: ${line}`);
  // Absolute once: the org commands a round starts (a backup, a schedule's run, a team pull) run in the workspace.
  const configPath = serveOptions.config === undefined ? undefined : resolve(serveOptions.config);
  const configFile = configPath ?? join(workspaceDir, CONFIG_FILE_NAME);
  return (async () => {
    const [{ superviseEvery }, { diagnosisModel }] = await Promise.all([
      import("../../supervise/supervisor.ts"),
      import("../../supervise/diagnose-incident.ts"),
    ]);
    const settings = instanceSettings();
    const loadConfig = () => loadOrgConfig(configFile, undefined, { workspaceDir });
    say(
      `org supervise runs in serve now and every ${formatDuration(loadConfig().supervise.every)} ` +
        `(--supervise), watching ${workspaceDir} and ${CHECKOUT_DIR}`,
    );
    await superviseEvery({
      workspaceDir,
      repoDir: CHECKOUT_DIR,
      ...(configPath !== undefined ? { configPath } : {}),
      sandbox,
      loadConfig,
      instance: { port: settings.currentPort, tmuxSession: settings.tmuxSession, startTimeoutMs: settings.startTimeoutS * 1000 },
      say,
      diagnosisModel,
      signal,
    });
  })().catch((error) => say(`stopped: ${describeFailure(error)}`));
}

/**
 * `--telegram`: the Telegram bot (org telegram) over serve's own sessions, so a chat's session is the web room's and
 * the HTTP API's too. A token Telegram refuses, or another poller, stops the bot with a line in the log; serve goes on.
 */
function startTelegram(options: ServeOptions, served: Served, token: string | undefined, stopping: AbortSignal): Promise<void> | undefined {
  if (!options.telegram || token === undefined) return undefined;
  const { handler, audit, workspaceDir, config, memory, mcp, fileOutlet } = served;
  const parts = { ...(memory ? { memory } : {}), ...(mcp ? { mcp } : {}), ...(fileOutlet ? { fileOutlet } : {}) };
  return import("./telegram-bot.ts")
    .then(({ runTelegram }) => runTelegram({ workspaceDir, config, sessions: handler.sessions, audit, token, log, signal: stopping, ...parts }))
    .catch((error) => log(`telegram: stopped: ${describeFailure(error)}`));
}

/** What serve runs beside its routes until it stops, in serve's sandbox: `--grow-every`, `--supervise` and `--telegram`. */
function startBeside(options: ServeOptions, served: Served, token: string | undefined, stopping: AbortSignal): Promise<void> | undefined {
  const { workspaceDir, sandbox } = served;
  const running = [
    startGrowing(options, workspaceDir, sandbox, stopping),
    startSupervising(options, workspaceDir, sandbox, stopping),
    startTelegram(options, served, token, stopping),
  ].filter((work) => work !== undefined);
  return running.length === 0 ? undefined : Promise.all(running).then(() => undefined);
}

type ServeOptions = ReturnType<typeof parseServeOptions>;
type ServeSettings = ReturnType<typeof serveEnvironment>;

/**
 * Everything serve answers with, started once the port is held: memory, the MCP servers, the served tools and the
 * handler. Should any part fail to start, those already started are closed before the error goes on, so a failed
 * start leaves no MCP server running.
 */
async function assembleServed(
  options: ServeOptions,
  workspaceDir: string,
  config: OrgConfig,
  settings: ServeSettings,
  access: SandboxAccess,
  page: WebPage,
  flavor: ServeFlavor,
) {
  const {
    apiToken,
    hmacSecret,
    hmacTtlS,
    hmacBodyTimeoutS,
    hmacBodiesPerClient,
    dedupTtlS,
    jobTtlS,
    jobQueueMax,
    jobLogCompactBytes,
    profile,
    fsync,
  } = settings;
  const { sandbox, sandboxPolicy } = access;
  // With --telegram, send_file's outlet: the bot's chats bind their sessions there (loaded only then).
  const outlets = options.telegram ? await import("../../telegram/file-outlet.ts") : undefined;
  const fileOutlet = outlets ? new outlets.TelegramFileOutlet(config.telegram.maxFileBytes) : undefined;
  const parts = await servedParts(workspaceDir, config, access, log, fileOutlet ? { fileOutlet } : {});
  const { tools, mcp, memory } = parts;
  // The web room follows the config as the terminal room does; serve's API for programs keeps what it started with.
  const roomConfig = flavor.policies === "room" ? new RoomConfig(config, sandboxPolicy) : undefined;
  try {
    const handler = createServeHandler({
      ...parts.rooms,
      sessionPolicies: flavor.policies,
      ...(roomConfig ? { roomConfig } : {}),
      version: orgVersion(),
      ...(apiToken !== undefined ? { apiToken } : {}),
      ...(hmacSecret !== undefined
        ? { hmac: { secret: hmacSecret, ttlS: hmacTtlS, bodyTimeoutS: hmacBodyTimeoutS, bodiesPerClient: hmacBodiesPerClient } }
        : {}),
      jobs: { workers: options.workers, dedupTtlS, fsync, ttlS: jobTtlS, maxQueued: jobQueueMax, compactAboveBytes: jobLogCompactBytes },
      profile,
      // No token means loopback only (checked at start): then refuse what a browser page could send.
      loopbackOnly: apiToken === undefined && hmacSecret === undefined,
      logError: log,
      // The web room's page and views: the same page for org serve and org web, under the server's own auth.
      extraRoutes: ({ sessions, logError, reloadTools, streamTicket }) =>
        webRoutes({
          reloadTools,
          streamTicket,
          workspaceDir,
          checkoutDir: CHECKOUT_DIR,
          config,
          sandbox,
          sandboxPolicy,
          sessions,
          logError,
          assets: page.assets,
          ...(memory ? { memory } : {}),
        }),
    });
    return { tools, handler, mcp, memory, audit: parts.rooms.audit, workspaceDir, config, sandbox, roomConfig, fileOutlet };
  } catch (error) {
    tools.stop();
    await mcp?.close();
    memory?.close();
    throw error;
  }
}

/** Waits for SIGTERM, Ctrl-C or the command's signal, then stops: no new requests, running turns get DRAIN_MS, then the rest. */
type Served = Awaited<ReturnType<typeof assembleServed>>;

async function serveUntilStopped(
  served: Served,
  server: RunningServe,
  growing: (stopping: AbortSignal) => Promise<void> | undefined,
  signal: AbortSignal,
): Promise<number> {
  const { tools, handler, mcp, memory } = served;
  const stopping = new AbortController();
  const grown = growing(stopping.signal);
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
    await mcp?.close();
    memory?.close();
    await server.stop(true);
    // A grow run under way was cancelled with the rest: its build winds down, its proposals stay pending; a supervisor round ends.
    if (grown) await Promise.race([grown, sleep(DRAIN_MS)]);
    log("stopped");
    return 0;
  } finally {
    signal.removeEventListener("abort", onStop);
    process.off("SIGINT", onStop);
  }
}

/** How `org serve` and `org web` differ: the command's name, its default port, the token it asks, the line it prints. */
export type ServeFlavor = {
  command: "serve" | "web";
  defaultPort: number;
  /**
   * Whose tool policies the sessions' rooms follow (serve/http-tool-policy.ts): serve's own ("serve"), or the room's as
   * the terminal follows them ("room": `org web`, whose rooms also take an edited config as the terminal room does).
   */
  policies: RoomPolicySource;
  /** The token every route asks for, given ORG_API_TOKEN (`org web` makes one when it is not set). */
  token(fromEnvironment: string | undefined): string | undefined;
  /** The one line on stdout once the server answers. */
  announce(started: { url: string; token: string | undefined; hmac: boolean; tools: ServedTools; options: ServeOptions; profile: string }): string;
};

/**
 * The web room's page, read once per process when first asked for (org web asks at once, so it is ready when opened):
 * from the bundle kept by an earlier start while every file it was built from is unchanged, else bundled now.
 */
type WebPage = { assets: () => Promise<PageAssets> };

function webPage(): WebPage {
  let built: Promise<PageAssets> | undefined;
  return { assets: () => (built ??= pageAssets()) };
}

/** `org serve` or `org web` (`flavor`): the room and tools over HTTP until SIGTERM or Ctrl-C. */
export async function runServe(args: string[], signal: AbortSignal, flavor: ServeFlavor): Promise<number> {
  const options = parseServeOptions(args, flavor.command, flavor.defaultPort);
  checkSandboxOffConsent(flavor.command, options.unsafeNoSandbox);
  if (options.unsafeNoSandbox) log("WARNING: ORG_SANDBOX=off and --unsafe-no-sandbox: model-made commands run UNSANDBOXED on this host");
  const workspaceDir = prepareWorkspace(options.workspace ?? process.cwd());
  const config = loadCommandConfig(options.config, workspaceDir);
  const environment = serveEnvironment();
  const apiToken = flavor.token(environment.apiToken);
  const settings = { ...environment, apiToken };
  const { hmacSecret, profile } = settings;
  if (profile === "prod" && apiToken === undefined && hmacSecret === undefined) {
    throw new OrgError(
      "ORG_PROFILE=prod needs ORG_API_TOKEN or ORG_API_HMAC_SECRET, even on loopback: set one (clients then " +
        "send the token or sign their requests), or use ORG_PROFILE=dev.",
    );
  }
  // --telegram without a token is said before anything starts.
  const telegramToken = options.telegram ? (await import("./telegram-bot.ts")).requireBotToken() : undefined;
  // One sandbox for the server: its rooms, tools, toolsmith, MCP servers, grow runs and supervisor share its bound and pool.
  const access = sandboxAccessFrom({ config });
  // The port first: a port in use is said before any MCP server, memory or tool is started, so nothing is left running.
  const server = bindServe({ host: options.host, port: options.port, authRequired: apiToken !== undefined || hmacSecret !== undefined });
  const page = webPage();
  let served: Served;
  try {
    served = await assembleServed(options, workspaceDir, config, settings, access, page, flavor);
    // org web bundles its page before it says where to open it: the first load does not wait for the build.
    if (flavor.command === "web") await page.assets();
    server.serve(served.handler);
  } catch (error) {
    await server.stop(true);
    throw error;
  }
  const { tools, roomConfig, handler } = served;
  const stopFollowing = roomConfig
    ? followServeConfig({
        configFile: options.config,
        workspaceDir,
        roomConfig,
        say: (message) => handler.sessions.notice("config", message),
        log,
      })
    : undefined;
  tools.follow((result) => {
    if (result.restartNeeded) log(`HEAD moved; not reloaded: ${result.restartNeeded}`);
    else
      log(
        `reloaded tools at ${result.commit?.slice(0, 12)}: added ${result.added.join(", ") || "none"}, ` +
          `removed ${result.removed.join(", ") || "none"}`,
      );
  });
  for (const problem of tools.problems) log(`not offered: tools/generated/${problem.name}: ${problem.problem}`);
  console.log(flavor.announce({ url: server.url, token: apiToken, hmac: hmacSecret !== undefined, tools, options, profile }));
  try {
    return await serveUntilStopped(served, server, (stopping) => startBeside(options, served, telegramToken, stopping), signal);
  } finally {
    stopFollowing?.();
  }
}
