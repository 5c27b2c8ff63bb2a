import { closeSync } from "node:fs";
import { type LongRunningProcess, longRunning } from "../sandbox/sandboxed-process.ts";
import { RunKiller, spawnPiped } from "../sandbox/supervise-run.ts";

/** The fd (in the launcher) of org's lifeline: one end of a socket pair whose other end only org holds. */
const LIFELINE_FD = 3;

// The launcher: a shell, leader of a process group of its own (setsid), runs the server in the foreground and beside it
// a watcher blocked reading org's lifeline. Org dying closes its end: the watcher reads end-of-file and kills the whole
// group, so no server outlives org, however it died. When the server exits on its own, what it left in the group gets
// SIGTERM (this shell ignores it from then on; a server must not inherit an ignored SIGTERM, so the trap comes after)
// and the shell exits with the server's status.
const LAUNCHER = [
  `( read -r _ <&${LIFELINE_FD}; kill -KILL 0 ) </dev/null >/dev/null 2>&1 &`,
  "w=$!",
  `"$@" ${LIFELINE_FD}<&-`,
  "s=$?",
  "trap '' TERM",
  "kill -TERM 0 2>/dev/null",
  'kill -KILL "$w" 2>/dev/null',
  'wait "$w" 2>/dev/null',
  'exit "$s"',
].join("\n");

/**
 * Starts a stdio MCP server as the user running org (the user's own program, not sandboxed): `command` with `args`,
 * in `cwd`, with exactly `env`. It runs in a process group of its own; `kill` ends the whole group, and so does org's
 * death (the lifeline). Throws when the launcher itself cannot start.
 */
export function startHostProcess(options: {
  command: string;
  args: readonly string[];
  env: Record<string, string>;
  cwd: string;
}): LongRunningProcess {
  const proc = spawnPiped(
    ["/bin/sh", "-c", LAUNCHER, "sh", options.command, ...options.args],
    { pipe: true },
    {
      env: options.env,
      cwd: options.cwd,
      extraFds: ["pipe"],
    },
  );
  const lifeline = proc.stdio[LIFELINE_FD];
  if (typeof lifeline !== "number") {
    proc.kill("SIGKILL");
    throw new Error("could not give the MCP server's launcher its lifeline; this Bun cannot pass extra pipes to a child");
  }
  let lifelineOpen = true;
  const closeLifeline = () => {
    if (!lifelineOpen) return;
    lifelineOpen = false;
    closeSync(lifeline);
  };
  // Killed: the group (RunKiller, only while the launcher is not reaped), then the lifeline, whose watcher kills the group too.
  return longRunning(proc, new RunKiller(proc), { onExit: closeLifeline, onKill: closeLifeline });
}
