import { chmodSync, copyFileSync, linkSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EgressRules } from "../config/egress-policy.ts";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";
import { ownedTempDir } from "../security/owned-temp-dir.ts";
import type { ReadOnlyMount } from "./bwrap-argv.ts";
import { type EgressAnswer, type EgressConnection, EgressGuard, type EgressQuestion, type EgressResolver } from "./egress-guard.ts";

/**
 * Where the sandbox finds the guard's socket, the forwarder and the bun that runs it: one folder, mounted whole. As root
 * each file mounted alone costs the launcher a `mount` of its own (about 2 ms); a folder costs nothing more.
 */
const EGRESS_FOLDER = "/org/egress";
export const EGRESS_SOCKET = `${EGRESS_FOLDER}/guard.sock`;
export const EGRESS_FORWARDER = `${EGRESS_FOLDER}/forwarder.ts`;
export const EGRESS_BUN = `${EGRESS_FOLDER}/bun`;
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
  const kit = join(folder, "kit");
  let bunLinked: boolean;
  try {
    mkdirSync(kit);
    // Whatever the umask: as root the sandbox runs as another uid, which must enter it.
    chmodSync(kit, 0o755);
    copyFileSync(join(CHECKOUT_DIR, "sandbox", "egress-forwarder.ts"), join(kit, "forwarder.ts"));
    bunLinked = linkedOrPlaceholder(process.execPath, join(kit, "bun"));
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }
  const socketPath = join(kit, "guard.sock");
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
    mounts: [{ source: kit, target: EGRESS_FOLDER }, ...(bunLinked ? [] : [{ source: process.execPath, target: EGRESS_BUN }])],
    env: egressEnvironment(),
    wrap: (argv) => [EGRESS_BUN, EGRESS_FORWARDER, String(EGRESS_PORT), EGRESS_SOCKET, "--", ...argv],
    end: async () => {
      await guard.stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/**
 * Links `bun` at `target` (true), or, across filesystems, leaves an empty file there for bun to be mounted on (false):
 * the kit is mounted read-only, where the sandbox could make no mount point.
 */
function linkedOrPlaceholder(bun: string, target: string): boolean {
  try {
    linkSync(bun, target);
    return true;
  } catch {
    writeFileSync(target, "", { mode: 0o755 });
    return false;
  }
}
