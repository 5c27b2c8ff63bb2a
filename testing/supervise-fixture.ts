// A supervisor's context for tests: a throw-away repository that is both checkout and workspace (or a workspace of its
// own), the config org would read there with only the given model server in its environment, a clock the test moves,
// and a tmux session no test or person has (so the current check finds no window unless the test makes one).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
