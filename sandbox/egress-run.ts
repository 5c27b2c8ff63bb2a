import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EgressRules } from "../config/egress-policy.ts";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";
import { ownedTempDir } from "../security/owned-temp-dir.ts";
import type { ReadOnlyMount } from "./bwrap-argv.ts";
import { type EgressAnswer, type EgressConnection, EgressGuard, type EgressQuestion, type EgressResolver } from "./egress-guard.ts";

/**
 * Where the sandbox finds the guard's socket, the forwarder and bun: one folder, mounted whole. As root each file
 * mounted alone costs the launcher a `mount` of its own (about 2 ms); a folder costs nothing more.
 */
export const EGRESS_FOLDER = "/org/egress";
export const EGRESS_SOCKET = `${EGRESS_FOLDER}/guard.sock`;
export const EGRESS_BUN = `${EGRESS_FOLDER}/bun`;
/**
 * The system's perl, inside the sandbox as the rest of /usr: where the host has it, the forwarder is the perl script,
 * which costs about 2 ms of CPU a run against bun's 7 (a sandboxed command given egress pays it every run); else bun's.
 */
export const SYSTEM_PERL = "/usr/bin/perl";
/** Which forwarder a run's kit holds: egress-forwarder.pl run by the system's perl, or egress-forwarder.ts by bun. */
export type EgressForwarder = "perl" | "bun";
/** Each forwarder's file in the checkout, and the name of its copy in the kit. */
const FORWARDER_FILES = {
  perl: { source: "egress-forwarder.pl", copy: "forwarder.pl" },
  bun: { source: "egress-forwarder.ts", copy: "forwarder.ts" },
} as const;
/** The port the forwarder listens on, on the sandbox's own loopback (its network namespace is its own). */
export const EGRESS_PORT = 3128;

/**
 * A run that may reach the network through org's egress guard (under a policy with `egress` rules): who asks, for the
 * audit and the question, and who answers a host on neither list. Without `ask` (unattended work) such a host is refused.
 */
export type EgressRequest = {
  /** Names the run in the question and the audit: the persona and the command's first line. */
  persona?: string;
  command?: string;
  ask?: (question: EgressQuestion & { persona?: string; command?: string }, signal: AbortSignal) => Promise<EgressAnswer>;
  onConnection?: (connection: EgressConnection) => void;
  /** Handed the run's guard once it listens (a view of its live connections; a test stops it mid-run). */
  guardStarted?: (guard: EgressGuard) => void;
  /** Tests and the bench only: the forwarder to run (by default perl's where /usr/bin/perl is, else bun's). */
  forwarder?: EgressForwarder;
  /** Tests only (never the config): a table for DNS, and addresses taken as public (servers on 127.0.0.1). */
  resolver?: EgressResolver;
  treatAsPublic?: ReadonlySet<string>;
};

/** The proxy variables a command given network gets, and nothing else: the forwarder on the sandbox's loopback. */
export function egressEnvironment(): Record<string, string> {
  const url = `http://127.0.0.1:${EGRESS_PORT}`;
  const names = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"];
  return Object.fromEntries(
    names.flatMap((name) => [
      [name, url],
      [name.toLowerCase(), url],
    ]),
  );
}

/** A guard started for one run, with what the run's sandbox needs to reach it; `end` stops it and removes its folder. */
export type EgressSetup = {
  guard: EgressGuard;
  mounts: ReadOnlyMount[];
  env: Record<string, string>;
  /** The command, run by the forwarder once it listens. */
  wrap(argv: string[]): string[];
  end(): Promise<void>;
};

/**
 * Starts the guard for one run on a socket in a private folder of its own. Its `kit` (the socket, a copy of the forwarder,
 * bun linked in) is what the sandbox mounts; the folder around it (0700) keeps other users of the host from the socket.
 */
export async function startEgress(rules: EgressRules, request: EgressRequest, secretValues: readonly string[]): Promise<EgressSetup> {
  const folder = ownedTempDir("egress");
  const forwarder = request.forwarder ?? (existsSync(SYSTEM_PERL) ? "perl" : "bun");
  let kit: EgressKit;
  try {
    kit = egressKit(folder, realpathSync(process.execPath), forwarder);
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }
  const { socketPath } = kit;
  const { ask } = request;
  let guard: EgressGuard;
  try {
    guard = await EgressGuard.start({
      rules,
      socketPath,
      secretValues,
      ...(ask
        ? {
            ask: (question, signal) =>
              ask(
                {
                  ...question,
                  ...(request.persona !== undefined ? { persona: request.persona } : {}),
                  ...(request.command !== undefined ? { command: request.command } : {}),
                },
                signal,
              ),
          }
        : {}),
      ...(request.onConnection ? { onConnection: request.onConnection } : {}),
      ...(request.resolver ? { resolver: request.resolver } : {}),
      ...(request.treatAsPublic ? { treatAsPublic: request.treatAsPublic } : {}),
    });
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }
  request.guardStarted?.(guard);
  return {
    guard,
    mounts: kit.mounts,
    env: egressEnvironment(),
    wrap: (argv) => [
      forwarder === "perl" ? SYSTEM_PERL : EGRESS_BUN,
      `${EGRESS_FOLDER}/${FORWARDER_FILES[forwarder].copy}`,
      String(EGRESS_PORT),
      EGRESS_SOCKET,
      "--",
      ...argv,
    ],
    end: async () => {
      await guard.stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** A run's kit: where its guard listens, and what its sandbox mounts to reach the guard, the forwarder and bun. */
export type EgressKit = { socketPath: string; mounts: ReadOnlyMount[] };

/**
 * Makes the kit in `folder`: a `kit` folder (0755 whatever the umask: as root the sandbox runs as another uid) holding a
 * copy of the `forwarder` and `bun` linked in (it also runs `org doctor`'s probe), mounted whole at /org/egress. Where
 * `bun` cannot be linked (another filesystem, a file of another user's) an empty file stands in its place and bun is
 * mounted on it: the kit is mounted read-only, where the sandbox could make no mount point. link(2) does not follow a
 * symbolic link: pass a real path.
 */
export function egressKit(folder: string, bun: string, forwarder: EgressForwarder): EgressKit {
  const kit = join(folder, "kit");
  mkdirSync(kit);
  chmodSync(kit, 0o755);
  const { source, copy } = FORWARDER_FILES[forwarder];
  copyFileSync(join(CHECKOUT_DIR, "sandbox", source), join(kit, copy));
  let linked = true;
  try {
    linkSync(bun, join(kit, "bun"));
  } catch {
    writeFileSync(join(kit, "bun"), "", { mode: 0o755 });
    linked = false;
  }
  return {
    socketPath: join(kit, "guard.sock"),
    mounts: [{ source: kit, target: EGRESS_FOLDER }, ...(linked ? [] : [{ source: bun, target: EGRESS_BUN }])],
  };
}
