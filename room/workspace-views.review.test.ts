// Issue 45's reproductions through the room (items 2, 4, 5, 10): an agent's sh commands in the real sandbox under
// the read and write views, their changes decided by the room's writer and applied through the safe writer.
import { afterAll, expect, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { agentRunsCommands } from "../testing/agent-commands.ts";
import { listChanges } from "../workspace/change-journal.ts";

const base = mkdtempSync(join(tmpdir(), "org-views-review-"));
chmodSync(base, 0o755);
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A workspace the sandbox's uid may enter, with `files` written (a path ending in `/` is a folder). */
function workspace(name: string, files: Record<string, string> = {}): string {
  const dir = join(base, name);
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(dir, 0o755);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

const writeView = sandboxPolicy({ workspace: "write", poolSize: 0 });
const readView = sandboxPolicy({ workspace: "read", poolSize: 0 });

test("item 2: a chain of '.' links that leaves the workspace is refused whole; a chain that stays inside is applied", async () => {
  const dir = workspace("link-chain", { "a.txt": "a\n", "sub/b.txt": "b\n" });
  symlinkSync("sub/../a.txt", join(dir, "up"));
  const { said } = await agentRunsCommands(
    dir,
    [
      "ln -s . s && ln -s s/s/s/../../../root/.bashrc rc",
      // A folder the user's own link walks through becomes a link to '.': the user's link would then leave.
      "rm -r sub && ln -s . sub",
      // Links through links that stay inside are fine.
      "ln -s . here && ln -s here/a.txt also-a",
    ],
    writeView,
  );
  expect(said).toContain('"rc": a link to "s/s/s/../../../root/.bashrc", which leads outside the workspace through the links on its way');
  expect(said).toContain(`"up": a link to "sub/../a.txt" already in the workspace, which this change's links would make lead outside it`);
  expect(existsSync(join(dir, "rc"))).toBe(false);
  expect(lstatSync(join(dir, "sub")).isDirectory()).toBe(true);
  expect(readlinkSync(join(dir, "also-a"))).toBe("here/a.txt");
  expect(readFileSync(join(dir, "also-a"), "utf8")).toBe("a\n");
}, 60_000);

test("item 10: a file the agent made 0777 (or setuid) lands without group and other write bits, keeping the executable bit", async () => {
  const dir = workspace("modes", { "shared.txt": "x\n" });
  chmodSync(join(dir, "shared.txt"), 0o664);
  const { said } = await agentRunsCommands(
    dir,
    ["printf '#!/bin/sh\\n' > run.sh && chmod 4777 run.sh && printf 'y\\n' > open.txt && chmod 0666 open.txt && echo more >> shared.txt"],
    writeView,
  );
  expect(said).toContain("change was applied");
  expect(statSync(join(dir, "run.sh")).mode & 0o7777).toBe(0o755);
  expect(statSync(join(dir, "open.txt")).mode & 0o7777).toBe(0o644);
  // The user's own file keeps the mode they gave it.
  expect(statSync(join(dir, "shared.txt")).mode & 0o7777).toBe(0o664);
}, 60_000);

const SECRETS = {
  ".env": "DB_URL=postgres://app:hunter2-horse@db/app\n",
  "sub/.env.local": "LOCAL_ONLY_VALUE=correct-battery-staple\n",
  "certs/server.pem": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n",
  "deploy/id_ed25519": "ssh-private-key-material-here\n",
  ".npmrc": "//registry.example/:_authToken=npm-token-value-1234\n",
  "conf/vault.token": "vault-token-value-5678\n",
  "src/app.ts": "export const app = 1;\n",
  "box/.env": "BOX_VALUE=box-secret-value-0001\n",
  "box/x.txt": "x\n",
};
const SECRET_WORDS = [
  "box-secret-value",
  "hunter2-horse",
  "correct-battery-staple",
  "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
  "ssh-private-key-material",
  "npm-token-value",
  "vault-token-value",
];
const SECRET_PATTERNS = [".env*", ".npmrc", "*.pem", "*.key", "id_*", "*.token"];
const READS =
  "for f in .env sub/.env.local certs/server.pem deploy/id_ed25519 .npmrc conf/vault.token conf/link-to-token; do base64 -w0 $f; rev $f; done; ls -la . sub certs; cat src/app.ts";

/** A workspace holding SECRETS, a link to one of them, and a config naming SECRET_PATTERNS. */
function secretWorkspace(name: string): string {
  const dir = workspace(name, SECRETS);
  symlinkSync("vault.token", join(dir, "conf", "link-to-token"));
  writeFileSync(join(dir, "org.config.json"), JSON.stringify({ sandbox: { secretPaths: SECRET_PATTERNS } }));
  return dir;
}

/** Every secret word, as written and as base64 and rev would show it. */
function expectNoSecret(text: string): void {
  for (const word of SECRET_WORDS) {
    expect(text).not.toContain(word);
    expect(text).not.toContain([...word].reverse().join(""));
  }
  for (const content of Object.values(SECRETS).filter((value) => !value.startsWith("export")))
    expect(text).not.toContain(Buffer.from(content).toString("base64").slice(0, 24));
}

test("item 4: the read view hides .env*, .npmrc, keys and sandbox.secretPaths in any folder; base64 and rev read an empty placeholder", async () => {
  const dir = secretWorkspace("secrets-read");
  const { outputs } = await agentRunsCommands(dir, [READS], sandboxPolicy({ workspace: "read", poolSize: 0, secretPaths: SECRET_PATTERNS }));
  const output = outputs.join("\n");
  expectNoSecret(output);
  expect(output).toContain("export const app = 1;");
  for (const [path, content] of Object.entries(SECRETS)) expect(readFileSync(join(dir, path), "utf8")).toBe(content);
}, 60_000);

test("item 4: the write view copies no secret file; removing their folders or writing their names never reaches the user's files", async () => {
  const dir = secretWorkspace("secrets-write");
  const commands = [
    READS,
    "rm -rf sub certs deploy conf",
    "echo 'TOKEN=mine' > .env",
    "echo key > new.key",
    "echo changed > src/app.ts",
    "rm -rf box && echo replaced > box",
  ];
  const { outputs, said } = await agentRunsCommands(dir, commands, sandboxPolicy({ workspace: "write", poolSize: 0, secretPaths: SECRET_PATTERNS }));
  expectNoSecret(outputs[0] ?? "");
  expect(outputs[0]).toContain("export const app = 1;");
  expect(said).toContain('".env": a protected path');
  expect(said).toContain('"new.key": a secret path (sandbox.secretPaths: *.key)');
  // A folder that still holds a hidden file is not replaced by a file: the change is not applied, nothing is lost.
  expect(said).toContain('"box" was not written: it is a folder that still holds files');
  // The folders' other files went; the hidden ones stayed, and so did their folders.
  for (const [path, content] of Object.entries(SECRETS))
    if (path !== "src/app.ts" && path !== "box/x.txt") expect(readFileSync(join(dir, path), "utf8")).toBe(content);
  expect(readFileSync(join(dir, "src/app.ts"), "utf8")).toBe("changed\n");
  expect(existsSync(join(dir, "new.key"))).toBe(false);
  // Nothing secret was kept in the session's copy or its spare.
  const kept = (folder: string): string[] =>
    readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? kept(join(folder, entry.name)) : [readFileSync(join(folder, entry.name), "latin1")],
    );
  expectNoSecret(kept(join(dir, ".org", "workspaces")).join("\n"));
}, 60_000);

test("item 5: a command that writes past the scratch's bounds into the write view's copy is stopped, and nothing of it is kept", async () => {
  const dir = workspace("copy-bound", { "a.txt": "a\n" });
  const bounded = sandboxPolicy({ workspace: "write", poolSize: 0, limits: { scratchBytes: 8 * 1024 * 1024, scratchFiles: 200 } });
  const { outputs, said } = await agentRunsCommands(
    dir,
    [
      "for i in 1 2 3 4 5 6; do head -c 4000000 /dev/zero > big$i.bin; done; echo wrote",
      "mkdir many && cd many && for i in $(seq 1 1000); do : > f$i; done; echo made",
    ],
    bounded,
  );
  // Killed as it writes, or, should it finish first on a busy machine, told by the walk after it ends.
  expect(outputs[0]).toContain("/workspace grew past its limit of 8 MiB more than it held");
  expect(outputs[1]).toContain("/workspace grew past its limit of 200 entries more than it held");
  expect(said).not.toContain("change was applied");
  expect(readdirSync(dir).sort()).toEqual([".org", "a.txt"]);
  expect(listChanges(dir)).toEqual([]);
  const sizeOf = (folder: string): number =>
    readdirSync(folder, { withFileTypes: true }).reduce(
      (sum, entry) => sum + (entry.isDirectory() ? sizeOf(join(folder, entry.name)) : lstatSync(join(folder, entry.name)).size),
      0,
    );
  expect(sizeOf(join(dir, ".org", "workspaces"))).toBeLessThan(1024 * 1024);
}, 60_000);

test("the read view still starts in /workspace and shows an ordinary project whole", async () => {
  const dir = workspace("plain-read", { "src/app.ts": "export const app = 1;\n", "README.md": "hi\n" });
  const { outputs } = await agentRunsCommands(dir, ["pwd; cat src/app.ts README.md"], readView);
  expect(outputs[0]).toContain("/workspace\nexport const app = 1;\nhi");
}, 60_000);
