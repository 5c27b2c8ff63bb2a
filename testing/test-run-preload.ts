// Preloaded into each `bun test` process by package.json's test scripts (`--preload`): the run's processes end with it.
import { afterAll } from "bun:test";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLifeline } from "./test-run-reaper.ts";

startLifeline();

// The person's own org folder (their confirmations and the key that seals them) is never the real one under HOME: each
// test process, and every org it starts, keeps them in a folder of its own, in the temp folder `npm test` removes at
// the run's end (bun's test runner runs no exit handler of a preload).
process.env.ORG_HOME = mkdtempSync(join(tmpdir(), "org-home-"));

// Nor is the person's tmux server: an org command a test runs without a server of its own (`TmuxServer`) would otherwise
// look at the person's `org` session, and `supervise` would restart, or `instance stop` stop, the current they run. Each
// test process, and everything it starts, gets a tmux server of its own instead ($TMUX would name the person's), ended
// after each test file: bun test runs no exit handler of a preload, but runs a preload's afterAll after every file.
const tmuxHome = mkdtempSync(join(tmpdir(), "org-tmux-own-"));
process.env.TMUX_TMPDIR = tmuxHome;
delete process.env.TMUX;
afterAll(() => {
  // Named outright, whatever a test did to process.env since: only this process's own server is ever killed.
  const { TMUX: _person, ...env } = process.env;
  if (existsSync(join(tmuxHome, `tmux-${process.getuid?.() ?? 0}`, "default")))
    Bun.spawnSync(["tmux", "kill-server"], { env: { ...env, TMUX_TMPDIR: tmuxHome }, timeout: 10_000 });
});

// Bun.spawn without `env` hands a child the environment bun started with, not process.env as it is now: a child a test
// starts so would miss ORG_HOME and keep confirmations under the real HOME. A spawn given no `env` gets process.env.
type SpawnArgs = [Record<string, unknown>] | [string[], Record<string, unknown>?];
const withEnvironment = (args: SpawnArgs): SpawnArgs => {
  if (Array.isArray(args[0])) return [args[0], { ...args[1], env: args[1]?.env ?? process.env }];
  const [options] = args as [Record<string, unknown>];
  return [{ ...options, env: options.env ?? process.env }];
};
const { spawn, spawnSync } = Bun;
Object.assign(Bun, {
  spawn: (...args: SpawnArgs) => (spawn as (...given: SpawnArgs) => ReturnType<typeof Bun.spawn>)(...withEnvironment(args)),
  spawnSync: (...args: SpawnArgs) => (spawnSync as (...given: SpawnArgs) => ReturnType<typeof Bun.spawnSync>)(...withEnvironment(args)),
});
