import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const repoRoot = join(import.meta.dir, "..");
const workspace = mkdtempSync(join(tmpdir(), "org-once-"));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

/** Runs `bun main.ts chat …` as a real child process in the temp workspace. */
async function chat(args: string[], env: Record<string, string>) {
  const child = Bun.spawn([process.execPath, join(repoRoot, "main.ts"), "chat", "--workspace", workspace, ...args], {
    cwd: workspace,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, exitCode };
}

/** A loopback port nothing listens on: bind one, then let it go. */
function deadPort(): number {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = server.port as number;
  server.stop(true);
  return port;
}

test("--once against a dead server exits 1 and says which URL, OLLAMA_BASE, and the scripted server", async () => {
  const base = `http://127.0.0.1:${deadPort()}`;
  const result = await chat(["--once", "hello", "--json"], { OLLAMA_BASE: base });
  expect(result.exitCode).toBe(1);
  const lines = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ type: "error", kind: "unreachable" });
  expect(lines[0].message).toContain(`no model server answers at ${base}`);
  expect(result.stderr).toContain("OLLAMA_BASE");
  expect(result.stderr).toContain("bun main.ts scripted-server");
});

test("wrong flags exit 2 with the reason", async () => {
  const bad = await chat(["--once", "hi", "--mode", "sideways"], { OLLAMA_BASE: "http://127.0.0.1:9" });
  expect(bad.exitCode).toBe(2);
  expect(bad.stderr).toContain("--mode:");
  const json = await chat(["--json"], {});
  expect(json.exitCode).toBe(2);
  expect(json.stderr).toContain("--json goes with --once");
});
