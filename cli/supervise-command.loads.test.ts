import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importersOf, modulesLoadedBy } from "../testing/loaded-modules.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";

// `org supervise mute`, `unmute` and `status` read and write the supervisor's state: they loaded every check's code (the
// room's transcripts, backups, grow, the MCP client, the model) and a sandbox, 358–379 modules, for the checks' names
// and a key of the state.
const repo = tempGitRepo("org-supervise-loads-");
const workspace = mkdtempSync(join(tmpdir(), "org-supervise-loads-ws-"));

afterAll(() => {
  repo[Symbol.dispose]();
  rmSync(workspace, { recursive: true, force: true });
});

const roundCode = ["supervise/supervise-checks.ts", "supervise/supervisor.ts", "supervise/diagnose-incident.ts", "sandbox/run-sandboxed.ts"];

test("org supervise mute and status answer without loading the round's checks, the model or a sandbox", async () => {
  const muted = await modulesLoadedBy(["supervise", "mute", "disk", "--for", "2h", "--workspace", workspace]);
  expect(muted.exitCode).toBe(0);
  expect(muted.stdout).toContain("disk");
  expect(muted.modules).toContain("supervise/mute-patterns.ts");
  expect(muted.modules.filter((path) => roundCode.includes(path) || path.startsWith("room/"))).toEqual([]);

  const status = await modulesLoadedBy(["supervise", "status", "--json", "--workspace", workspace, "--repo", repo.dir]);
  expect(status.exitCode).toBe(0);
  expect(JSON.parse(status.stdout)).toMatchObject({ workspace });
  expect(status.modules).toContain("supervise/supervise-status.ts");
  expect(status.modules.filter((path) => roundCode.includes(path) || path.startsWith("room/"))).toEqual([]);
}, 60_000);

// A round runs every check, so it loads them all; it loaded node:zlib and node's streams for a log rotation and a
// memory restore it rarely makes, and node:crypto for two hashes and an id.
test("a round of org supervise loads no module that imports node:crypto, zlib, node's streams, net or tls", async () => {
  const round = await modulesLoadedBy(["supervise", "--once", "--json", "--workspace", workspace, "--repo", repo.dir], {
    env: { OLLAMA_BASE: "http://127.0.0.1:9" },
  });
  expect(round.exitCode).toBe(0);
  expect(round.modules).toContain("supervise/supervise-checks.ts");
  expect(importersOf(round.modules, ["node:crypto", "node:stream", "node:stream/promises", "node:zlib", "node:net", "node:tls"])).toEqual([]);
}, 60_000);
