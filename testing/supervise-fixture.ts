// A supervisor's context for tests: a throw-away repository that is both checkout and workspace (or a workspace of its
// own), the config org would read there with only the given model server in its environment, a clock the test moves,
// and a tmux session no test or person has (so the current check finds no window unless the test makes one).
import { Database } from "bun:sqlite";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orgCommand } from "../config/org-bun-command.ts";
import { probeHealth } from "../instances/health-probe.ts";
import { confirmConfig } from "../config/config-trust.ts";
import { loadOrgConfig, type OrgConfig } from "../config/org-config.ts";
import type { SuperviseContext } from "../supervise/supervise-check.ts";
import { SupervisorState } from "../supervise/supervisor-state.ts";
import { SIGNATURE_HEADER } from "../supervise/webhook.ts";
import { freePort } from "./free-port.ts";
import { type OpsScriptResult, runOpsScript } from "./run-ops-script.ts";
import { gitSync, tempGitRepo } from "./temp-git-repo.ts";
import { testSandbox } from "./test-sandbox.ts";
import { type TmuxServer, uniqueSessionName } from "./tmux.ts";

export type SuperviseFixture = {
  context: SuperviseContext;
  /** The workspace (and checkout) folder. */
  dir: string;
  /** Moves the supervisor's clock on. */
  advance(ms: number): void;
  /** Writes org.config.json with `settings` and reads the config again (and the workspace's secret files, at the next round). */
  configure(settings: Record<string, unknown>): OrgConfig;
  lines: string[];
} & Disposable;

/** A fixture whose model server is `server` (default: a port nobody listens on), clock at `start`. */
export function superviseFixture(
  options: { server?: string; start?: number; env?: Record<string, string>; separateWorkspace?: boolean } = {},
): SuperviseFixture {
  const repo = tempGitRepo("org-supervise-");
  const workspace = options.separateWorkspace ? mkdtempSync(join(tmpdir(), "org-supervise-ws-")) : repo.dir;
  // Its own temporary folder: what the rest of a suite's runs leave in $TMPDIR is no leftover of this fixture's.
  const tempDir = mkdtempSync(join(tmpdir(), "org-supervise-tmp-"));
  mkdirSync(join(workspace, ".org"), { recursive: true, mode: 0o700 });
  writeFileSync(join(workspace, ".org", ".gitignore"), "*\n");
  const env = { OLLAMA_BASE: options.server ?? "http://127.0.0.1:9", OLLAMA_MODEL: "scripted", ...options.env };
  let now = options.start ?? Date.now();
  const state = SupervisorState.open(workspace, now);
  const lines: string[] = [];
  const load = () => loadOrgConfig(join(workspace, "org.config.json"), env, { workspaceDir: workspace });
  const context: SuperviseContext = {
    workspaceDir: workspace,
    repoDir: repo.dir,
    sandbox: testSandbox,
    config: load(),
    state,
    now: () => now,
    instance: { port: 9, tmuxSession: uniqueSessionName("org-sv"), startTimeoutMs: 10_000 },
    say: (line) => lines.push(line),
    signal: AbortSignal.timeout(120_000),
    tempDir,
  };
  return {
    context,
    dir: workspace,
    lines,
    advance: (ms) => {
      now += ms;
    },
    configure(settings) {
      writeFileSync(join(workspace, "org.config.json"), JSON.stringify(settings));
      // The test is the person who wrote it: what would wait for 'org config trust' (a webhook) is confirmed.
      confirmConfig(join(workspace, "org.config.json"), env, { workspaceDir: workspace });
      context.config = load();
      delete context.workspaceSecrets;
      return context.config;
    },
    [Symbol.dispose]: () => {
      state.close();
      repo[Symbol.dispose]();
      rmSync(tempDir, { recursive: true, force: true });
      if (options.separateWorkspace) rmSync(workspace, { recursive: true, force: true });
    },
  };
}

/** A scripted model's rule that answers the supervisor's diagnosis: `propose_fix` with this diagnosis, quote, action and target. */
export function proposeFixRule(diagnosis: string, quote: string, action = "remove-leftovers", target = "all") {
  return {
    when: { tool: "propose_fix" },
    reply: { toolCalls: [{ name: "propose_fix", arguments: { diagnosis, quote, action, target } }] },
  };
}

/** A pid no process has now: a child that ran and was reaped. */
export function deadPid(): number {
  const child = Bun.spawnSync(["true"]);
  return child.pid;
}

/** Writes a grow run report that failed at `at` with `error`, as a crashed `org grow` leaves it in `.org/grow/`. */
export function writeFailedGrowReport(workspaceDir: string, at: Date, error: string): string {
  const id = at.toISOString().replace(/[-:]/g, "").replace(".", "");
  const zero = {
    noticed: 0,
    merged: 0,
    created: 0,
    covered: 0,
    built: 0,
    judged: 0,
    promoted: 0,
    rolledBack: 0,
    removed: 0,
    proposedForRemoval: 0,
    failed: 0,
  };
  const report = {
    version: 1,
    id,
    pid: 1,
    state: "failed",
    startedAt: at.toISOString(),
    endedAt: at.toISOString(),
    dryRun: false,
    workspace: workspaceDir,
    repo: workspaceDir,
    autoPromote: false,
    summary: zero,
    budget: { wallMs: 0, budgetMs: 0, tokens: 0, maxTokens: 0, tools: 0, maxTools: 0, modelMs: 0 },
    proposals: [],
    builds: [],
    removals: [],
    notes: [],
    error,
  };
  mkdirSync(join(workspaceDir, ".org", "grow"), { recursive: true, mode: 0o700 });
  writeFileSync(join(workspaceDir, ".org", "grow", `${id}.json`), JSON.stringify(report), { mode: 0o600 });
  return id;
}

/** Every text a SQLite database holds, table by table, as one string (to look for what must not be there). */
export function databaseText(database: Database): string {
  const tables = database.query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table'").all();
  return tables.map((table) => `${table.name}: ${JSON.stringify(database.query(`SELECT * FROM "${table.name}"`).all())}`).join("\n");
}

/**
 * Whether `text` still carries `secret` in any form the supervisor's own transformations make of it (as written,
 * lowercased, digits masked as a signature masks them): any 10 characters of it in a row.
 */
export function carriesSecret(text: string, secret: string): boolean {
  const masked = (value: string) => value.toLowerCase().replace(/\d+(\.\d+)?/g, "#");
  const haystack = masked(text);
  const needle = masked(secret);
  for (let at = 0; at + 10 <= needle.length; at += 1) if (haystack.includes(needle.slice(at, at + 10))) return true;
  return false;
}

/** `org supervise` running as a process of its own (this checkout's code), its output collected; stopped when disposed. */
export type SupervisorProcess = { pid: number; output(): string; stop(): Promise<void> } & AsyncDisposable;

/** Starts `org supervise ARGS` in `cwd` with `env` over this process's environment; killed after `timeoutMs` at the latest. */
export function startSupervisorProcess(
  args: readonly string[],
  options: { cwd: string; env: Record<string, string>; timeoutMs?: number },
): SupervisorProcess {
  const child = Bun.spawn(orgCommand(["supervise", ...args]), {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
    timeout: options.timeoutMs ?? 120_000,
  });
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) chunks.push(decoder.decode(chunk, { stream: true }));
  };
  const collected = Promise.all([collect(child.stdout), collect(child.stderr)]);
  const stop = async () => {
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await child.exited;
    clearTimeout(killer);
    await collected;
  };
  return { pid: child.pid, output: () => chunks.join(""), stop, [Symbol.asyncDispose]: stop };
}

/** A message a webhook sink took: its signature header and body, and the body's `text`, `kind` and `key` (the incident). */
export type SinkMessage = { signature: string | null; body: string; text: string; kind: string; key: string };

/** A webhook sink on loopback: every POST's `x-org-signature`, body, `text`, `kind` and `key`, as a Slack or Discord endpoint gets them. */
export function webhookSink(): { url: string; received: SinkMessage[]; stop(): void } {
  const received: SinkMessage[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const body = await request.text();
      let parsed: { text?: unknown; kind?: unknown; key?: unknown } = {};
      try {
        parsed = JSON.parse(body) as typeof parsed;
      } catch {
        // Not JSON: kept as the body alone.
      }
      const field = (value: unknown) => (typeof value === "string" ? value : "");
      received.push({
        signature: request.headers.get(SIGNATURE_HEADER),
        body,
        text: field(parsed.text),
        kind: field(parsed.kind),
        key: field(parsed.key),
      });
      return new Response("ok");
    },
  });
  return { url: `http://127.0.0.1:${server.port}/hook`, received, stop: () => server.stop(true) };
}

/**
 * A clone run as ops/ runs org: `config` committed as org.config.json (a rollback needs the checkout clean, and the
 * supervisor reads its settings there), then ops/start-current.sh and ops/supervise.sh; their outcomes, to check.
 */
export async function superviseClone(
  dir: string,
  config: object,
  env: Record<string, string>,
): Promise<{ current: OpsScriptResult; supervisor: OpsScriptResult }> {
  writeFileSync(join(dir, "org.config.json"), JSON.stringify(config, null, 2));
  confirmConfig(join(dir, "org.config.json"), env, { workspaceDir: dir });
  gitSync(dir, ["add", "org.config.json"]);
  gitSync(dir, ["commit", "--quiet", "-m", "supervise settings for the test"]);
  const current = await runOpsScript(dir, "start-current.sh", [], { cwd: dir, env });
  const supervisor = await runOpsScript(dir, "supervise.sh", [], { cwd: dir, env });
  return { current, supervisor };
}

/** Ends what `superviseClone` started (ops/stop.sh), then each of `after` in turn, whatever fails on the way. */
export async function stopSupervisedClone(dir: string, env: Record<string, string>, after: (() => unknown)[]): Promise<void> {
  await runOpsScript(dir, "stop.sh", [], { cwd: dir, env }).catch(() => undefined);
  for (const step of after)
    await Promise.resolve()
      .then(step)
      .catch(() => undefined);
}

/**
 * What the tmux e2e tests of the supervisor read and wait for in a clone `superviseClone` runs: its state (as a reader
 * beside the one writer, as `org supervise status` reads it), a window's pane, current's pid and health, and a bounded
 * wait that shows the supervisor's window when it times out. `tmux` and `currentPort` are read when used.
 */
export function supervisedClone(options: { dir: string; session: string; tmux: () => TmuxServer; currentPort: () => number }) {
  const { dir, session } = options;
  const query = <T>(sql: string, ...params: (string | number)[]): T[] => {
    const database = new Database(join(dir, ".org", "supervisor", "state.db"));
    try {
      database.exec("PRAGMA busy_timeout = 5000");
      return database.query<T, (string | number)[]>(sql).all(...params);
    } finally {
      database.close();
    }
  };
  const pane = (window: string) =>
    options
      .tmux()
      .capture(`=${session}:=${window}`)
      .catch((error: Error) => error.message);
  const until = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (
        await Promise.resolve()
          .then(check)
          .catch(() => false)
      )
        return;
      await Bun.sleep(200);
    }
    const shown = (await pane("supervise"))
      .split("\n")
      .filter((line) => line.trim() !== "")
      .slice(-40)
      .join("\n");
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the supervisor's window shows:\n${shown}`);
  };
  const currentPid = async () => Number((await options.tmux().tmux("display-message", "-p", "-t", `=${session}:=current`, "#{pane_pid}")).trim());
  const healthy = async () => {
    const probe = await probeHealth(options.currentPort(), 2_000);
    return probe.kind === "org" && probe.health.ok;
  };
  return { query, pane, until, currentPid, healthy };
}

/** The environment ops/ scripts and org get in those tests: the tmux server's, the session, current's port, a free candidate port, the model server.
 *
 */
export function supervisedEnv(
  tmux: TmuxServer,
  place: { session: string; currentPort: number; ollamaBase: string },
  more: Record<string, string>,
): Record<string, string> {
  return {
    ...tmux.env,
    ORG_TMUX_SESSION: place.session,
    ORG_CURRENT_PORT: String(place.currentPort),
    ORG_CANDIDATE_PORT: String(freePort()),
    OLLAMA_BASE: place.ollamaBase,
    OLLAMA_MODEL: "scripted",
    ORG_EMBED_MODEL: "off",
    ORG_START_TIMEOUT_S: "60",
    NO_COLOR: "1",
    ...more,
  };
}
