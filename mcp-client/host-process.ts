import { closeSync } from "node:fs";
import type { LongRunningProcess } from "../sandbox/sandboxed-process.ts";

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
export function startHostProcess(options: { command: string; args: readonly string[]; env: Record<string, string>; cwd: string }): LongRunningProcess {
  const proc = Bun.spawn(["/bin/sh", "-c", LAUNCHER, "sh", options.command, ...options.args], {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ["pipe", "pipe", "pipe", "pipe"],
  });
  const lifeline = proc.stdio[LIFELINE_FD];
  const { stdin, stdout, stderr } = proc;
  if (typeof lifeline !== "number" || typeof stdin !== "object" || stdin === null) {
    proc.kill("SIGKILL");
    throw new Error("could not give the MCP server's launcher its pipes; this Bun cannot pass extra pipes to a child");
  }
  let killedFor: string | undefined;
  let lifelineOpen = true;
  const closeLifeline = () => {
    if (!lifelineOpen) return;
    lifelineOpen = false;
    closeSync(lifeline);
  };
  const exited = proc.exited.then((code) => {
    closeLifeline();
    return proc.signalCode === null ? code : null;
  });
  return {
    pid: proc.pid,
    stdin,
    stdout,
    stderr,
    exited,
    kill(reason) {
      killedFor ??= reason;
      // Only while Bun has not reaped the launcher: after that its pid, and so the group's id, may be someone else's.
      if (proc.exitCode === null && proc.signalCode === null) {
        try {
          process.kill(-proc.pid, "SIGKILL");
        } catch {
          // The group is gone already.
        }
      }
      closeLifeline();
    },
    get killedFor() {
      return killedFor;
    },
  };
}
