import { describe, expect, test } from "bun:test";
import type { FileChange } from "./change-set.ts";
import { checkChangeSet, DEFAULT_PROTECTED_PATHS } from "./check-change-set.ts";
import { matchesPattern } from "./path-glob.ts";

const text = (path: string, body = "x\n"): FileChange => ({
  path,
  status: "added",
  after: { type: "file", mode: 0o644, size: body.length, content: new TextEncoder().encode(body) },
});

function refusedFor(...changes: FileChange[]): string {
  const check = checkChangeSet({ changes });
  if (check.ok) throw new Error("expected a refusal");
  return check.message;
}

describe("checkChangeSet", () => {
  test("a plain edit passes", () => {
    expect(checkChangeSet({ changes: [text("src/a.ts"), text("docs/b.md")] })).toEqual({ ok: true });
  });

  test("protected paths, hostile names, links out, special and large files are refused whole, the reason named", () => {
    const protectedPaths = [".git/hooks/pre-commit", ".git/config", ".env", ".env.local", "sub/.npmrc", "bunfig.toml", "org.config.json", ".org/x"];
    // A nested repository's hooks and config, the promoted tools org offers from the workspace, the workflows it serves.
    protectedPaths.push("vendor/lib/.git/hooks/post-checkout", "sub/.git", "tools/generated/word_count/tool.ts", "workflows/deploy.json");
    for (const path of protectedPaths) {
      expect(refusedFor(text("ok.txt"), text(path))).toContain("protected path");
    }
    expect(refusedFor(text("../escape"))).toContain("'..'");
    expect(refusedFor(text("/etc/passwd"))).toContain("absolute");
    const evil = "a\nb\u001b[2Jc.txt";
    const message = refusedFor(text(evil));
    expect(message).toContain("control characters");
    expect(message).toContain('"a\\nb\\u001b[2Jc.txt"');
    expect(message).not.toContain("\u001b");
    expect(refusedFor({ path: "link", status: "added", after: { type: "symlink", target: "/etc/passwd" } })).toContain("outside the workspace");
    expect(refusedFor({ path: "a/link", status: "added", after: { type: "symlink", target: "../../x" } })).toContain("outside the workspace");
    expect(checkChangeSet({ changes: [{ path: "a/link", status: "added", after: { type: "symlink", target: "../b" } }] }).ok).toBe(true);
    expect(refusedFor({ path: "pipe", status: "added", after: { type: "fifo" } })).toContain("FIFO");
    expect(refusedFor({ path: "big", status: "added", after: { type: "file", mode: 0o644, size: 500 * 1024 * 1024 } })).toContain(
      "limits.patchBytes",
    );
    const many = Array.from({ length: 10_000 }, (_, index) => text(`f${index}`));
    expect(refusedFor(...many)).toContain("limits.patchFiles");
  });

  test("a protected path in another case or a compatibility form is refused too: a case-insensitive file system takes it for the same file", () => {
    // WSL's /mnt/c, vfat, ext4 with casefold: .ENV is where bun reads .env, .GIT/hooks is git's; 'ſ' folds to 's'.
    const lookAlikes = [
      ".GIT/hooks/pre-commit",
      ".Env",
      "ORG.CONFIG.JSON",
      "Bunfig.toml",
      "sub/.NPMRC",
      ".ORG/x",
      "Tools/Generated/x/tool.ts",
      "workflowſ/deploy.json",
    ];
    for (const path of lookAlikes) expect(refusedFor(text("ok.txt"), text(path))).toContain("protected path");
    expect(checkChangeSet({ changes: [text("src/Environment.ts"), text("docs/ORG.md")] })).toEqual({ ok: true });
  });

  test("a link at a folder above a protected pattern is refused, in any case; a link elsewhere or below a name in any folder is not", () => {
    const link = (path: string, target = "x"): FileChange => ({ path, status: "added", after: { type: "symlink", target } });
    for (const path of ["tools", "workflows", "Tools", "WORKFLOWS"])
      expect(refusedFor(link(path))).toContain("a link at a folder above protected paths");
    // The folder a pattern ending in /** names is that pattern's own.
    for (const path of ["tools/generated", ".org"]) expect(refusedFor(link(path, path.includes("/") ? "../x" : "x"))).toContain("a protected path");
    const protectedPaths = [...DEFAULT_PROTECTED_PATHS, "deep/**/secret.txt"];
    expect(checkChangeSet({ changes: [link("deep/a/b", "../../x")] }, { protectedPaths }).ok).toBe(false);
    // A link that is no parent of a protected pattern: `**/.git/**` and `.npmrc` are protected wherever a link leads.
    for (const path of ["docs", "src/lib", "toolsx", "vendor/pkg"])
      expect(checkChangeSet({ changes: [link(path, path.includes("/") ? "../x" : "x")] }).ok).toBe(true);
  });

  test("allowedPaths limits what a change may touch", () => {
    const check = checkChangeSet({ changes: [text("out/a.json"), text("src/b.ts")] }, { allowedPaths: ["out/**"] });
    expect(check.ok ? [] : check.refusals.map((refusal) => refusal.path)).toEqual(["src/b.ts"]);
    // Allowed is exact: another case is another path where the file system tells them apart.
    const other = checkChangeSet({ changes: [text("OUT/a.json")] }, { allowedPaths: ["out/**"] });
    expect(other.ok).toBe(false);
  });

  test("patterns: ** spans folders, a bare name matches in any folder", () => {
    expect(DEFAULT_PROTECTED_PATHS.some((pattern) => matchesPattern(pattern, ".git"))).toBe(true);
    expect(matchesPattern("**/.npmrc", ".npmrc")).toBe(true);
    expect(matchesPattern("src/*.ts", "src/a/b.ts")).toBe(false);
    expect(matchesPattern("src/**", "src/a/b.ts")).toBe(true);
    expect(matchesPattern(".env*", "environment.ts")).toBe(false);
  });
});
