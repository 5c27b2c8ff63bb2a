import { readFileSync, writeFileSync } from "node:fs";

// With the kernel's autogroups (on by default on most distributions), CPU time is shared between sessions
// first and between the processes of a session after. bwrap's --new-session makes a new session, so a sandbox
// weighs as much as the whole of org however nice its processes are: three busy sandboxes left org's thread
// waiting on the run queue for hundreds of milliseconds, and the scratch watchdog with it. The session's own
// niceness, /proc/PID/autogroup, is what counts between sessions.

const AUTOGROUP = /^\/autogroup-(\d+) nice (-?\d+)\s*$/;

/** A process's session group and that group's niceness; undefined without autogroups or once it is gone. */
export function readSessionNiceness(pid: number): { group: string; niceness: number } | undefined {
  try {
    const match = AUTOGROUP.exec(readFileSync(`/proc/${pid}/autogroup`, "utf8"));
    return match?.[1] && match[2] ? { group: match[1], niceness: Number(match[2]) } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes the session group of each of `pids` at least `niceness` nice, once per group. A process may set its own
 * group back to 0 or start a new session (a new group at 0), so callers repeat this while the sandbox runs.
 * Best effort: without CAP_SYS_ADMIN the kernel takes one such write per 100 ms machine-wide (EAGAIN otherwise),
 * and the next round tries again.
 */
export function niceSessions(pids: Iterable<number>, niceness: number): void {
  const done = new Set<string>();
  for (const pid of pids) {
    const session = readSessionNiceness(pid);
    if (!session || done.has(session.group)) continue;
    done.add(session.group);
    if (session.niceness >= niceness) continue;
    try {
      writeFileSync(`/proc/${pid}/autogroup`, String(niceness));
    } catch {
      // Rate-limited, exited meanwhile, or a kernel without autogroups: the next round tries again.
    }
  }
}
