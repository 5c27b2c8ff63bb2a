import { afterEach, expect, test } from "bun:test";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { McpServerConfig } from "../config/mcp-servers.ts";
import { describeLaunch, isTrusted, launchFingerprint, MCP_TRUST_FILE, rebindTrust, recordTrust, trustPlace } from "./mcp-trust.ts";

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

test("a stdio server starts only as confirmed: a change to its command, args, env or sandbox needs a new confirmation; its policies do not", () => {
  const dir = workspace();
  expect(isTrusted(server, dir)).toBe(false);
  recordTrust(server, dir);
  expect(isTrusted(server, dir)).toBe(true);
  expect((statSync(join(dir, MCP_TRUST_FILE)).mode & 0o777).toString(8)).toBe("600");
  for (const changed of [
    { ...server, command: "node" },
    { ...server, args: ["-y", "server", "/"] },
    { ...server, env: { TOKEN: "${OTHER}" } },
    { ...server, sandbox: true },
    { ...server, name: "fs2" },
  ])
    expect(isTrusted(changed, dir)).toBe(false);
  expect(isTrusted({ ...server, policy: "allow", tools: { write_file: "deny" } }, dir)).toBe(true);
  // The file keeps the hash, never the command or a value.
  expect(readFileSync(join(dir, MCP_TRUST_FILE), "utf8")).not.toContain("npx");
});

test("a confirmation that came with the folder is not believed: another place, a file others may read, a link", () => {
  const first = workspace();
  recordTrust(server, first);
  // The same file in a folder at another path (a clone, an archive).
  const second = workspace();
  cpSync(join(first, ".org"), join(second, ".org"), { recursive: true });
  expect(isTrusted(server, second)).toBe(false);
  // Mode 0644, as git and tar make files: not org's.
  chmodSync(join(first, MCP_TRUST_FILE), 0o644);
  expect(isTrusted(server, first)).toBe(false);
  // A link to a file that says yes.
  const third = workspace();
  recordTrust(server, third);
  const real = join(third, "elsewhere.json");
  writeFileSync(real, readFileSync(join(third, MCP_TRUST_FILE)), { mode: 0o600 });
  rmSync(join(third, MCP_TRUST_FILE));
  symlinkSync(real, join(third, MCP_TRUST_FILE));
  expect(isTrusted(server, third)).toBe(false);
});

test("a trust file made for this very path elsewhere (an archive, a clone made 0600 by the umask) is not believed", () => {
  const dir = workspace();
  recordTrust(server, dir);
  expect(isTrusted(server, dir)).toBe(true);
  const made = readFileSync(join(dir, MCP_TRUST_FILE));
  // The folder as an archive or a clone brings it back: the same path, the same bytes, a 0600 file and a 0700 .org of this
  // user's; only what the kernel gives a new folder (its inode, its birth) differs.
  rmSync(join(dir, ".org"), { recursive: true });
  mkdirSync(join(dir, ".org"), { mode: 0o700 });
  writeFileSync(join(dir, MCP_TRUST_FILE), made, { mode: 0o600 });
  expect(isTrusted(server, dir)).toBe(false);
  // Confirmed again here, it is believed, and stays so when another server's confirmation rewrites the file.
  recordTrust(server, dir);
  recordTrust({ ...server, name: "other" }, dir);
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

test("a confirmation restored into another folder is bound to it only from the place it was made, for the same launch, with its files as they were", () => {
  const first = workspace();
  writeFileSync(join(first, "serve.sh"), "exec true\n");
  const local: McpServerConfig = { ...server, name: "local", command: "/bin/sh", args: ["serve.sh"], env: {} };
  recordTrust(local, first);
  recordTrust({ ...local, name: "edited" }, first);
  const was = { ...trustPlace(first), path: first };
  // Restored elsewhere: the file and the workspace's files copied, the .org folder made anew.
  const second = workspace();
  cpSync(first, second, { recursive: true });
  chmodSync(join(second, MCP_TRUST_FILE), 0o600);
  expect(isTrusted(local, second)).toBe(false);
  expect(rebindTrust(local, second, { ...was, stateFolder: "another folder's" })).toEqual({ kind: "launch" });
  expect(rebindTrust({ ...local, args: ["serve.sh", "--more"] }, second, was)).toEqual({ kind: "launch" });
  expect(rebindTrust(local, second, was)).toBeUndefined();
  expect(isTrusted(local, second)).toBe(true);
  // A file the launch runs that differs from what was confirmed keeps the server off.
  writeFileSync(join(second, "serve.sh"), "exec true # edited\n");
  expect(rebindTrust({ ...local, name: "edited" }, second, was)).toMatchObject({
    kind: "files",
    changed: [{ label: join(second, "serve.sh"), how: "changed" }],
  });
  expect(isTrusted({ ...local, name: "edited" }, second)).toBe(false);
});
