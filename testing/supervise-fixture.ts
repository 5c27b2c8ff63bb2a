// A supervisor's context for tests: a throw-away repository that is both checkout and workspace (or a workspace of its
// own), the config org would read there with only the given model server in its environment, a clock the test moves,
// and a tmux session no test or person has (so the current check finds no window unless the test makes one).
import type { Database } from "bun:sqlite";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orgCommand } from "../config/org-bun-command.ts";
import { loadOrgConfig, type OrgConfig } from "../config/org-config.ts";
import type { SuperviseContext } from "../supervise/supervise-check.ts";
import { SupervisorState } from "../supervise/supervisor-state.ts";
import { tempGitRepo } from "./temp-git-repo.ts";
import { testSandbox } from "./test-sandbox.ts";
import { uniqueSessionName } from "./tmux.ts";

export type SuperviseFixture = {
  context: SuperviseContext;
  /** The workspace (and checkout) folder. */
  dir: string;
  /** Moves the supervisor's clock on. */
  advance(ms: number): void;
  /** Writes org.config.json with `settings` and reads the config again. */
  configure(settings: Record<string, unknown>): OrgConfig;
  lines: string[];
} & Disposable;

/** A fixture whose model server is `server` (default: a port nobody listens on), clock at `start`. */
export function superviseFixture(
  options: { server?: string; start?: number; env?: Record<string, string>; separateWorkspace?: boolean } = {},
): SuperviseFixture {
  const repo = tempGitRepo("org-supervise-");
  const workspace = options.separateWorkspace ? mkdtempSync(join(tmpdir(), "org-supervise-ws-")) : repo.dir;
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
      context.config = load();
      return context.config;
    },
    [Symbol.dispose]: () => {
      state.close();
      repo[Symbol.dispose]();
      if (options.separateWorkspace) rmSync(workspace, { recursive: true, force: true });
    },
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
  const zero = { noticed: 0, merged: 0, created: 0, covered: 0, built: 0, judged: 0, promoted: 0, rolledBack: 0, removed: 0, proposedForRemoval: 0, failed: 0 };
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
export function startSupervisorProcess(args: readonly string[], options: { cwd: string; env: Record<string, string>; timeoutMs?: number }): SupervisorProcess {
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
