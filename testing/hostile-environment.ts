import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testGitEnv } from "./temp-git-repo.ts";

/** The host-side things hostile cases aim at, made fresh for one run of the suite. */
export type HostileEnvironment = {
  /** A temporary git repository standing in for the user's workspace (with a .git and a .env). */
  workspaceDir: string;
  /** A real TCP listener on the host's 127.0.0.1. */
  tcpPort: number;
  /** Connections that listener has accepted so far. */
  tcpConnections(): number;
  /** A listening abstract unix socket on the host (name without the leading NUL). */
  abstractSocket: string;
  /** This process's pid on the host. */
  hostPid: number;
  /** A fake secret in this process's environment, under `fakeTokenName`. */
  fakeToken: string;
  fakeTokenName: string;
  /** A unique word for process names, so leftovers can be found on the host. */
  marker: string;
  /** Scratch directory for one case. */
  scratchFor(caseName: string): string;
  close(): Promise<void>;
};

export async function createHostileEnvironment(): Promise<HostileEnvironment> {
  const root = mkdtempSync(join(tmpdir(), "org-hostile-"));
  // Open to every user, as most workspaces' parents are: the scratch root org makes (0700) must be what keeps other
  // host users out of every scratch.
  chmodSync(root, 0o755);
  const workspaceDir = join(root, "workspace");
  mkdirSync(workspaceDir);
  const git = Bun.spawnSync(["git", "init", "-q", workspaceDir], { stderr: "pipe", env: testGitEnv() });
  if (git.exitCode !== 0) throw new Error(`git init failed: ${git.stderr.toString()}`);
  writeFileSync(join(workspaceDir, ".env"), "ORG_WORKSPACE_SECRET=do-not-leak-4f9a\n");
  const marker = `orghostile${process.pid}x${Date.now().toString(36)}`;
  const fakeTokenName = "ORG_HOSTILE_FAKE_API_TOKEN";
  const fakeToken = `fake-${marker}-Zx81Qp`;
  const previousToken = process.env[fakeTokenName];
  process.env[fakeTokenName] = fakeToken;

  let connections = 0;
  const tcp = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  const tcpPort = await listen(tcp, { port: 0, host: "127.0.0.1" });
  const abstractSocket = `${marker}-abstract`;
  const unix = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await listen(unix, { path: `\0${abstractSocket}` });

  return {
    workspaceDir,
    tcpPort,
    tcpConnections: () => connections,
    abstractSocket,
    hostPid: process.pid,
    fakeToken,
    fakeTokenName,
    marker,
    scratchFor: (caseName) => join(root, "scratch", caseName.replace(/[^a-z0-9-]+/gi, "-")),
    async close() {
      await Promise.all([close(tcp), close(unix)]);
      if (previousToken === undefined) delete process.env[fakeTokenName];
      else process.env[fakeTokenName] = previousToken;
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function listen(server: Server, address: { port: number; host: string } | { path: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(address, () => {
      const bound = server.address();
      resolve(typeof bound === "object" && bound ? bound.port : 0);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Host processes whose command line contains `word`. */
export function hostProcessesMatching(word: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(word)) found.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** Waits up to `limitMs` for every host process matching `word` to be gone; returns what is left. */
export async function leftoverProcesses(word: string, limitMs = 2000): Promise<number[]> {
  const deadline = performance.now() + limitMs;
  for (;;) {
    const left = hostProcessesMatching(word);
    if (left.length === 0 || performance.now() > deadline) return left;
    await Bun.sleep(20);
  }
}
