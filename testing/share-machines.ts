// Machines that share tools through one remote, for tests: each its own org home, HOME (a git identity of its own), SSH
// key made with ssh-keygen, and checkout; the remote a bare repository over file://. Nothing reads the person's HOME,
// git config or org home, nor the worktree's own git state.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gitEnvironment } from "../config/environment.ts";
import { promote } from "../cycle/promote.ts";
import { promotionContext } from "../cycle/promotion-context.ts";
import type { RefChangeContext } from "../cycle/ref-change.ts";
import { RepoGit } from "../git/repo-git.ts";
import type { ShareAccess } from "../share/publish-offer.ts";
import { parsePublicKey, trustKey, updateShareSettings } from "../share/share-home.ts";
import { makeCandidate, writeFixtureTool, writePassingReport } from "./promotion-fixture.ts";
import { gitSync, tempGitRepo } from "./temp-git-repo.ts";
import type { ToolFixture } from "./toolsmith-fixtures.ts";

/** One machine: its checkout, org home, HOME, key pair, and the access a share call takes. */
export type ShareMachine = {
  name: string;
  dir: string;
  home: string;
  key: string;
  publicKey: string;
  access: ShareAccess;
  /** The promotion context of its checkout (no restart). */
  refChange: () => RefChangeContext;
};

/** Machines `names` and a bare remote every one of them names; all removed when disposed. */
export function shareMachines(names: string[]): { machines: ShareMachine[]; remote: string; root: string } & Disposable {
  const root = mkdtempSync(join(tmpdir(), "org-share-"));
  chmodSync(root, 0o755);
  const remoteDir = join(root, "remote.git");
  gitSync(root, ["init", "--quiet", "--bare", remoteDir]);
  const remote = `file://${remoteDir}`;
  const repos: Disposable[] = [];
  const machines = names.map((name) => {
    const home = join(root, `${name}-org-home`);
    const userHome = join(root, `${name}-home`);
    mkdirSync(home, { mode: 0o700 });
    mkdirSync(userHome, { mode: 0o700 });
    writeFileSync(join(userHome, ".gitconfig"), `[user]\n\tname = ${name}\n\temail = ${name}@team.invalid\n`);
    const key = join(userHome, "id_ed25519");
    const made = Bun.spawnSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key], { stdout: "pipe", stderr: "pipe" });
    if (made.exitCode !== 0) throw new Error(`ssh-keygen: ${made.stderr.toString()}`);
    const repo = tempGitRepo(`org-share-${name}-`);
    repos.push(repo);
    writeFileSync(join(repo.dir, ".gitignore"), ".org/\n");
    gitSync(repo.dir, ["add", "-A"]);
    gitSync(repo.dir, ["commit", "--quiet", "-m", "a main to share from"]);
    const git = new RepoGit(repo.dir);
    const access: ShareAccess = {
      git,
      home: { dir: home },
      person: { env: gitEnvironment({ ...process.env, HOME: userHome, XDG_CONFIG_HOME: join(userHome, ".config") }), timeoutMs: 30_000 },
    };
    updateShareSettings(access.home, { remote, signingKey: key });
    const refChange = () => promotionContext({ repo: git, log: () => {}, signal: AbortSignal.timeout(60_000), share: access });
    return { name, dir: repo.dir, home, key, publicKey: readFileSync(`${key}.pub`, "utf8").trim(), access, refChange };
  });
  return {
    machines,
    remote,
    root,
    [Symbol.dispose]: () => {
      for (const repo of repos) repo[Symbol.dispose]();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** `truster` accepts `signer`'s offers. */
export function trust(truster: ShareMachine, signer: ShareMachine): void {
  trustKey(truster.access.home, parsePublicKey(signer.publicKey, undefined, truster.dir));
}

/** Promotes `fixture` as a tool on `machine`'s main the way the gate would (a passing report for the candidate, then promote). */
export async function promoteFixture(machine: ShareMachine, fixture: ToolFixture, branch: string): Promise<string> {
  const commit = makeCandidate(machine.dir, branch, (worktree) => writeFixtureTool(worktree, fixture));
  writePassingReport(machine.dir, commit, branch);
  const outcome = await promote(machine.refChange(), { branch, restart: false });
  if (outcome.kind !== "promoted") throw new Error(`the fixture's promotion did not happen: ${outcome.kind}`);
  return gitSync(machine.dir, ["rev-parse", "main"]).trim();
}
