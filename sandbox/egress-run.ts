import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deadOwnersTempDirs, ownedTempDir } from "../security/owned-temp-dir.ts";
import type { EgressRules } from "../config/egress-policy.ts";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";
import type { ReadOnlyMount } from "./bwrap-argv.ts";
import { type EgressAnswer, type EgressConnection, EgressGuard, type EgressQuestion, type EgressResolver } from "./egress-guard.ts";

/**
 * Where the sandbox finds the guard's socket, the forwarders and bun: the run's own folder, mounted whole (as root each
 * file mounted alone costs the launcher a `mount` of its own, about 2 ms, and bwrap reads its mount table again for
 * each: a folder more costs about 1 ms). It holds hard links to the kit's files, made once per Sandbox, and the socket
 * of the run's guard: a run reaches its own guard only.
 */
export const EGRESS_FOLDER = "/org/egress";
export const EGRESS_SOCKET = `${EGRESS_FOLDER}/guard.sock`;
export const EGRESS_BUN = `${EGRESS_FOLDER}/bun`;
/**
 * The system's perl, inside the sandbox as the rest of /usr: where the host has it, the forwarder is the perl script,
 * which costs about 2 ms of CPU a run against bun's 7 (a sandboxed command given egress pays it every run); else bun's.
 */
export const SYSTEM_PERL = "/usr/bin/perl";
/** Set for perl's forwarder alone: perl then takes no locale from the environment (perlrun), and no time to load one. */
const PERL_SKIP_LOCALE = "PERL_SKIP_LOCALE_INIT";
/**
 * The numbers of clone(2) and splice(2) on the architectures whose clone takes its flags first: perl's forwarder starts
 * its relay with the one and moves the bytes with the other. On any other, bun's forwarder runs.
 */
const SYSCALLS: Partial<Record<string, PerlSyscalls>> = { x64: { clone: 56, splice: 275 }, arm64: { clone: 220, splice: 76 } };
type PerlSyscalls = { clone: number; splice: number };

/** The syscall numbers perl's forwarder takes, here; undefined where perl's forwarder does not run. */
function perlSyscalls(): PerlSyscalls | undefined {
  return SYSCALLS[process.arch];
}
/** Which forwarder a run uses: egress-forwarder.pl run by the system's perl, or egress-forwarder.ts by bun. */
export type EgressForwarder = "perl" | "bun";

/**
 * The command line of `forwarder`, its files in `folder`, listening on `port` and relaying to the guard's `socket`,
 * up to the `--` before the command it runs: a run's (at /org/egress) and the bench's (in the checkout) alike.
 */
export function forwarderArgv(forwarder: EgressForwarder, at: { folder: string; bun: string; port: number; socket: string }): string[] {
  if (forwarder === "bun") return [at.bun, join(at.folder, "egress-forwarder.ts"), String(at.port), at.socket];
  const syscalls = perlSyscalls();
  if (syscalls === undefined) throw new RangeError(`perl's egress forwarder does not run on ${process.arch}: use bun's`);
  return [SYSTEM_PERL, join(at.folder, "egress-forwarder.pl"), String(at.port), at.socket, String(syscalls.clone), String(syscalls.splice)];
}
/** The forwarders' files, which every sandbox's support dir holds (`egressScripts`) under their names in the checkout. */
const FORWARDER_FILES = ["egress-forwarder.pl", "egress-relay.pl", "egress-forwarder.ts"] as const;

/** The forwarders' files by name, as the checkout has them: the support dir holds a copy (`prepareSandboxSupport`). */
export function egressScripts(): Record<string, string> {
  return Object.fromEntries(FORWARDER_FILES.map((name) => [name, readFileSync(join(CHECKOUT_DIR, "sandbox", name), "utf8")]));
}
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
  /** Stops the guard; the run's folder is removed once the caller has the result (an `rmdir` costs 2–4 ms on some disks). */
  end(): Promise<void>;
};

/** Starts the guard for one run, on a socket in the run's folder (`egressRunFolder`), mounted at /org/egress. */
export async function startEgress(rules: EgressRules, request: EgressRequest, secretValues: readonly string[], kit: EgressKit): Promise<EgressSetup> {
  const forwarder = request.forwarder ?? kit.forwarder;
  const command = forwarderArgv(forwarder, { folder: EGRESS_FOLDER, bun: EGRESS_BUN, port: EGRESS_PORT, socket: EGRESS_SOCKET });
  const { folder, mounts } = egressRunFolder(kit);
  const remove = () => setImmediate(() => rmSync(folder, { recursive: true, force: true }));
  const { ask } = request;
  let guard: EgressGuard;
  try {
    guard = await EgressGuard.start({
      rules,
      socketPath: join(folder, "guard.sock"),
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
    remove();
    throw error;
  }
  request.guardStarted?.(guard);
  return {
    guard,
    mounts,
    // Perl's forwarder skips its locale's set-up (0.2 ms; it prints English only) and drops the variable before it
    // becomes the command: the command's environment gains the proxy variables only.
    env: forwarder === "perl" ? { ...egressEnvironment(), [PERL_SKIP_LOCALE]: "1" } : egressEnvironment(),
    wrap: (argv) => [...command, "--", ...argv],
    end: async () => {
      await guard.stop();
      remove();
    },
  };
}

/**
 * Where every run given egress takes its files from (`Sandbox.egressKit`): `folder`, private to this user
 * (`egressRunsDir`), where each run's folder is made; `scripts`, the support dir holding
 * the forwarders; `bun`, org's own (its real path: link(2) does not follow a symbolic link); the forwarder a run uses
 * unless it asks for one.
 */
export type EgressKit = { folder: string; scripts: string; bun: string; forwarder: EgressForwarder };

/**
 * The folder the runs given egress of this user make their own folders in: `org-egress-<uid>` in the temp folder,
 * 0700 (no other user of the host reaches a run's socket), shared by this user's org processes so that none leaves one
 * behind; the folders of runs whose process died are removed here. Where that name is not this user's own private
 * folder, a folder of this process's (`org supervise` removes it once the process is gone).
 */
export function egressRunsDir(parent: string = tmpdir()): string {
  const uid = process.getuid?.() ?? 0;
  const shared = join(parent, `org-egress-${uid}`);
  try {
    mkdirSync(shared, { mode: 0o700 });
  } catch {
    // There already, or not makeable: judged below.
  }
  const stat = lstatSync(shared, { throwIfNoEntry: false });
  if (!stat?.isDirectory() || stat.uid !== uid || (stat.mode & 0o077) !== 0) return ownedTempDir("egress", parent);
  for (const dead of deadOwnersTempDirs(shared)) rmSync(dead.path, { recursive: true, force: true });
  return shared;
}

/** The kit of a Sandbox: its private `folder`, the support dir (`scripts`) and `bun`; perl's forwarder where it runs. */
export function egressKit(folder: string, scripts: string, bun: string): EgressKit {
  return { folder, scripts, bun, forwarder: existsSync(SYSTEM_PERL) && perlSyscalls() !== undefined ? "perl" : "bun" };
}

/**
 * A new folder for one run in the kit's (0755 whatever the umask: as root the sandbox runs as another uid) where the
 * run's guard makes its socket, holding hard links to the forwarders (the support dir is in the same temporary folder)
 * and to bun (it also runs `org doctor`'s probe), all gone with the folder; and what the run's sandbox mounts: the
 * folder at /org/egress, and bun on an empty file there where it cannot be linked (another filesystem, a file of
 * another user's: the folder is mounted read-only, where the sandbox could make no mount point).
 */
export function egressRunFolder(kit: EgressKit): { folder: string; mounts: ReadOnlyMount[] } {
  // Named after this process (`org-run-<pid>-<start>-…`): a run killed with its process is removed by the next kit.
  const folder = ownedTempDir("run", kit.folder);
  let bunLinked = true;
  try {
    chmodSync(folder, 0o755);
    for (const name of FORWARDER_FILES) linkSync(join(kit.scripts, name), join(folder, name));
    try {
      linkSync(kit.bun, join(folder, "bun"));
    } catch {
      writeFileSync(join(folder, "bun"), "", { mode: 0o755 });
      bunLinked = false;
    }
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }
  return { folder, mounts: [{ source: folder, target: EGRESS_FOLDER }, ...(bunLinked ? [] : [{ source: kit.bun, target: EGRESS_BUN }])] };
}
