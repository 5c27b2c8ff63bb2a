import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orgInvocation, orgPath, REPO_DIR, shellWord } from "./org-invocation.ts";

test("in the checkout: main.ts by its short name, npx bun when no bun is on PATH", () => {
  expect(orgInvocation(REPO_DIR, null)).toBe("npx bun main.ts");
  expect(orgInvocation(REPO_DIR, process.execPath)).toBe("bun main.ts");
  expect(orgPath(join("demo", "demo-script.json"), REPO_DIR)).toBe(join("demo", "demo-script.json"));
});

test("elsewhere: absolute paths, and the bun running now when PATH has none or another", () => {
  const elsewhere = tmpdir();
  expect(orgInvocation(elsewhere, null)).toBe(`${process.execPath} ${join(REPO_DIR, "main.ts")}`);
  expect(orgInvocation(elsewhere, "/somewhere/else/bun")).toBe(`${process.execPath} ${join(REPO_DIR, "main.ts")}`);
  expect(orgInvocation(elsewhere, process.execPath)).toBe(`bun ${join(REPO_DIR, "main.ts")}`);
  expect(orgPath("main.ts", elsewhere)).toBe(join(REPO_DIR, "main.ts"));
});

test("the command it gives runs org from another directory", async () => {
  const elsewhere = mkdtempSync(join(tmpdir(), "org-invocation-"));
  try {
    const command = orgInvocation(elsewhere, null);
    const child = Bun.spawn(["/bin/sh", "-c", `${command} --help`], { cwd: elsewhere, stdout: "pipe", stderr: "pipe" });
    const [stdout, exitCode] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    expect(exitCode).toBe(0);
    expect(stdout).toContain("Usage:");
  } finally {
    rmSync(elsewhere, { recursive: true, force: true });
  }
});

test("paths the shell would split or expand are quoted so they come back whole", async () => {
  const words = ["plain/path-1.ts", "/tmp/my project/org", "it's $HOME; `x`", "*"];
  const quoted = words.map(shellWord);
  expect(quoted[0]).toBe("plain/path-1.ts");
  const child = Bun.spawn(["/bin/sh", "-c", `printf '%s\\n' ${quoted.join(" ")}`], { stdout: "pipe" });
  expect(await new Response(child.stdout).text()).toBe(`${words.join("\n")}\n`);
});
