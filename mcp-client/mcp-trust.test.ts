import { afterEach, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { McpServerConfig } from "../config/mcp-servers.ts";
import { userOrgDir } from "../config/user-org-dir.ts";
import { carriedConfirmations, carriedTrust, describeLaunch, isTrusted, launchFingerprint, rebindTrust, recordTrust } from "./mcp-trust.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), "org-mcp-trust-"));
  dirs.push(dir);
  return dir;
}

const server: McpServerConfig = {
  name: "fs",
  transport: "stdio",
  command: "npx",
  args: ["-y", "server", "/tmp/x"],
  env: { TOKEN: "${TOKEN}" },
  policy: "ask",
  tools: {},
};

/** The user's org folder the test run set (never the real HOME's). */
const home = () => userOrgDir() ?? "";

test("a stdio server starts only as confirmed: a change to its command, args, env or sandbox needs a new confirmation; its policies do not", () => {
  const dir = workspace();
  expect(isTrusted(server, dir)).toBe(false);
  recordTrust(server, dir);
  expect(isTrusted(server, dir)).toBe(true);
  for (const changed of [
    { ...server, command: "node" },
    { ...server, args: ["-y", "server", "/"] },
    { ...server, env: { TOKEN: "${OTHER}" } },
    { ...server, sandbox: true },
    { ...server, name: "fs2" },
  ])
    expect(isTrusted(changed, dir)).toBe(false);
  expect(isTrusted({ ...server, policy: "allow", tools: { write_file: "deny" } }, dir)).toBe(true);
  // Kept in the user's org folder, 0600 in a 0700 folder, never in the workspace; the record keeps hashes, never the command.
  expect(readdirSync(dir)).toEqual([]);
  const kept = readdirSync(join(home(), "trust")).map((name) => join(home(), "trust", name));
  expect(kept.length).toBeGreaterThan(0);
  for (const file of kept) expect((statSync(file).mode & 0o777).toString(8)).toBe("600");
  expect((statSync(home()).mode & 0o777).toString(8)).toBe("700");
  expect(kept.map((file) => readFileSync(file, "utf8")).join("")).not.toContain("npx");
});

test("a confirmation that comes with a folder is not believed: a clone's .org/mcp-trust.json, the same folder copied elsewhere", () => {
  const first = workspace();
  recordTrust(server, first);
  // An older org's trust file, written as it wrote them, in a repository's .org/: nothing reads it.
  const cloned = workspace();
  mkdirSync(join(cloned, ".org"), { mode: 0o700 });
  writeFileSync(
    join(cloned, ".org", "mcp-trust.json"),
    JSON.stringify({ version: 1, servers: { fs: { fingerprint: "0".repeat(64), trustedAt: "", files: {} } } }),
    {
      mode: 0o600,
    },
  );
  expect(isTrusted(server, cloned)).toBe(false);
  // The confirmed folder copied elsewhere, .org and all: another place, so another workspace.
  const copy = workspace();
  cpSync(first, copy, { recursive: true });
  expect(isTrusted(server, copy)).toBe(false);
  expect(isTrusted(server, first)).toBe(true);
});

test("a record in the user's folder whose seal does not hold is not believed (altered, or written by hand)", () => {
  const dir = workspace();
  recordTrust(server, dir);
  expect(isTrusted(server, dir)).toBe(true);
  for (const file of readdirSync(join(home(), "trust"))) {
    const path = join(home(), "trust", file);
    const text = readFileSync(path, "utf8");
    if (!text.includes(dir)) continue;
    // The same record, its time changed by one character: the seal covers every field.
    writeFileSync(
      path,
      text.replace(/"trustedAt": "(\d)/, (_whole, digit: string) => `"trustedAt": "${(Number(digit) + 1) % 10}`),
      { mode: 0o600 },
    );
  }
  expect(isTrusted(server, dir)).toBe(false);
  recordTrust(server, dir);
  expect(isTrusted(server, dir)).toBe(true);
});

test("an HTTP server waits for a confirmation too, loopback and no headers included, and a new URL or header needs another; the question shows what runs", () => {
  const dir = workspace();
  for (const url of ["https://x.test/mcp", "http://127.0.0.1:8931/mcp", "http://localhost/mcp"]) {
    const http: McpServerConfig = { name: "gh", transport: "http", url, policy: "allow", tools: {} };
    expect(isTrusted(http, dir)).toBe(false);
    recordTrust(http, dir);
    expect(isTrusted(http, dir)).toBe(true);
    expect(isTrusted({ ...http, url: `${url}/other` }, dir)).toBe(false);
    expect(isTrusted({ ...http, headers: { "X-Team": "a" } }, dir)).toBe(false);
  }
  expect(describeLaunch(server)).toBe("TOKEN='${TOKEN}' npx -y server /tmp/x — on this host as you, unsandboxed");
  expect(describeLaunch({ ...server, env: {}, sandbox: true, network: ["a.test"] })).toBe("npx -y server /tmp/x — in the sandbox (network: a.test)");
  // The host paths a sandboxed server may read are part of what the user confirms.
  expect(describeLaunch({ ...server, env: {}, sandbox: true, readOnlyPaths: ["/home/me/.ssh", "/srv/data"] })).toBe(
    "npx -y server /tmp/x — in the sandbox (no network; reads /home/me/.ssh, /srv/data)",
  );
  expect(launchFingerprint(server, "/a")).not.toBe(launchFingerprint(server, "/b"));
});

test("a carried confirmation is bound to another folder only when the user's key sealed it, for the same launch, with its files as they were", () => {
  const first = workspace();
  writeFileSync(join(first, "serve.sh"), "exec true\n");
  const local: McpServerConfig = { ...server, name: "local", command: "/bin/sh", args: ["serve.sh"], env: {} };
  recordTrust(local, first);
  recordTrust({ ...local, name: "edited" }, first);
  const carried = carriedTrust(first);
  const sealed = carriedConfirmations(carried);
  expect([...sealed.servers.keys()].sort()).toEqual(["edited", "local"]);
  const confirmation = sealed.servers.get("local");
  if (!confirmation) throw new Error("no sealed confirmation of local");
  // Restored elsewhere: the workspace's files copied.
  const second = workspace();
  cpSync(first, second, { recursive: true });
  expect(isTrusted(local, second)).toBe(false);
  const place = { workspace: sealed.workspace, path: first };
  expect(rebindTrust({ ...local, args: ["serve.sh", "--more"] }, second, { ...place, confirmation })).toEqual({ kind: "launch" });
  expect(rebindTrust(local, second, { ...place, confirmation })).toBeUndefined();
  expect(isTrusted(local, second)).toBe(true);
  // A file the launch runs that differs from what was confirmed keeps the server off.
  writeFileSync(join(second, "serve.sh"), "exec true # edited\n");
  const edited = sealed.servers.get("edited");
  if (!edited) throw new Error("no sealed confirmation of edited");
  expect(rebindTrust({ ...local, name: "edited" }, second, { ...place, confirmation: edited })).toMatchObject({
    kind: "files",
    changed: [{ label: join(second, "serve.sh"), how: "changed" }],
  });
  expect(isTrusted({ ...local, name: "edited" }, second)).toBe(false);
  // What a forger writes from public data (the launch's fingerprint, the files' hashes) carries no seal of this user's key.
  const forged = {
    ...carried,
    records: Object.fromEntries(Object.entries(carried.records).map(([name, record]) => [name, { ...record, seal: "0".repeat(64) }])),
  };
  expect(carriedConfirmations(forged).servers.size).toBe(0);
  // Nor does a record moved to another workspace's name.
  expect(carriedConfirmations({ ...carried, workspace: second }).servers.size).toBe(0);
});

test("servers run by one file share its state when confirmed, but a file changed since another server's confirmation is read again", () => {
  const dir = workspace();
  const script = join(workspace(), "serve.sh");
  writeFileSync(script, "exec true\n");
  const run = (name: string): McpServerConfig => ({ name, transport: "stdio", command: "/bin/sh", args: [script], policy: "ask", tools: {} });
  recordTrust(run("a"), dir);
  recordTrust(run("b"), dir);
  expect([isTrusted(run("a"), dir), isTrusted(run("b"), dir)]).toEqual([true, true]);
  writeFileSync(script, "exec false\n");
  // c's confirmation takes the script as it is now, not as a and b saw it; theirs no longer cover it.
  recordTrust(run("c"), dir);
  expect([isTrusted(run("a"), dir), isTrusted(run("b"), dir), isTrusted(run("c"), dir)]).toEqual([false, false, true]);
  recordTrust(run("a"), dir);
  expect(isTrusted(run("a"), dir)).toBe(true);
});

test("a carried confirmation of a server run from outside the workspace holds while that file is as confirmed, and not once it changed", () => {
  const first = workspace();
  const script = join(workspace(), "serve.sh");
  writeFileSync(script, "exec true\n");
  const outside: McpServerConfig = { name: "outside", transport: "stdio", command: "/bin/sh", args: [script], policy: "ask", tools: {} };
  recordTrust(outside, first);
  recordTrust({ ...outside, name: "later" }, first);
  const sealed = carriedConfirmations(carriedTrust(first));
  const [confirmation, later] = [sealed.servers.get("outside"), sealed.servers.get("later")];
  if (!confirmation || !later) throw new Error("no sealed confirmations");
  const place = { workspace: sealed.workspace, path: first };
  const second = workspace();
  expect(rebindTrust(outside, second, { ...place, confirmation })).toBeUndefined();
  expect(isTrusted(outside, second)).toBe(true);
  writeFileSync(script, "exec true # edited\n");
  expect(rebindTrust({ ...outside, name: "later" }, second, { ...place, confirmation: later })).toMatchObject({
    kind: "files",
    changed: [{ label: script, how: "changed" }],
  });
  expect(isTrusted(outside, second)).toBe(false);
});
