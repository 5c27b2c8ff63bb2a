import { afterAll, describe, expect, test } from "bun:test";
import { orgCommand } from "../../config/org-bun-command.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { simpleSpec, writeGeneratedTool } from "../../testing/generated-tool-fixture.ts";

const root = mkdtempSync(join(tmpdir(), "org-tool-search-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
writeGeneratedTool(root, simpleSpec("word_count", "Counts the words in a text.", "text", "words"));
writeGeneratedTool(root, simpleSpec("char_count", "Counts the characters of a string.", "text", "characters"));
// Hostile metadata: a description that tries to retitle the terminal, reorder text and open a CSI.
const HOSTILE = "Evil \x1b]0;pwned\x07 words \u202eesrever\u202c \u009b2J\r\nnext line";
writeGeneratedTool(root, simpleSpec("evil_words", HOSTILE, "text", "words"));

/** Runs `org tool search ARGS --repo ROOT` in its own process. */
async function toolSearch(args: string[], env: Record<string, string>) {
  const child = Bun.spawn(orgCommand(["tool", "search", ...args, "--repo", root]), {
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, exitCode };
}

describe("tool search", () => {
  test("without embeddings: says FTS alone, lists name, score, origin, one-line description; control characters shown escaped", async () => {
    const { stdout, stderr, exitCode } = await toolSearch(["how many words are in this text?"], { ORG_EMBED_MODEL: "off" });
    expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" });
    const lines = stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("searched 3 promoted and 0 candidate tools with full-text (BM25) only");
    // Readable: the best hit is 100 %, the others a share of it (BM25's own numbers are near 0 in a small index).
    expect(lines[1]).toMatch(/^ 1\. word_count +100%  promoted   Counts the words in a text\.$/);
    expect(lines[2]).toMatch(/^ 2\. \w+ +\d{1,3}%  promoted /);
    expect(lines).toHaveLength(4);
    expect(stdout).toContain("evil_words");
    expect(stdout).toContain("\\x1b]0;pwned\\x07 words \\u202eesrever\\u202c \\u009b2J next line");
    expect(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]/.test(stdout)).toBe(false);
  });

  test("--json with embeddings from the server: one JSON line, method named, terminal-safe, the same text when parsed", async () => {
    await using server = await startScriptedServer({ script: { rules: [] } });
    const { stdout, exitCode } = await toolSearch(["words", "--json", "--limit", "2"], {
      ORG_EMBED_BASE: server.url,
      ORG_EMBED_MODEL: "nomic-embed-text",
    });
    expect(exitCode).toBe(0);
    expect(stdout.endsWith("\n") && !stdout.trimEnd().includes("\n")).toBe(true);
    expect(/[\x7f-\x9f\u202a-\u202e]/.test(stdout)).toBe(false);
    const parsed = JSON.parse(stdout);
    expect(parsed.method).toBe("fts+embeddings");
    expect(parsed.results).toHaveLength(2);
    expect(parsed.results.map((hit: { name: string }) => hit.name).sort()).toEqual(["evil_words", "word_count"]);
    expect(parsed.results.find((hit: { name: string }) => hit.name === "evil_words").description).toBe(HOSTILE);
    expect(server.requests.some((request) => request.path === "/api/embed")).toBe(true);
  });

  test("an embedding server that is not there: FTS alone, and the output says why", async () => {
    const { stdout, exitCode } = await toolSearch(["count characters"], {
      ORG_EMBED_BASE: "http://127.0.0.1:9",
      ORG_EMBED_MODEL: "nomic-embed-text",
    });
    expect(exitCode).toBe(0);
    // One quiet line: full-text only, and why in a few words; no connection error.
    const lines = stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(
      "searched 3 promoted and 0 candidate tools with full-text (BM25) only: no embedding server at http://127.0.0.1:9 (set ORG_EMBED_BASE, or ORG_EMBED_MODEL=off)",
    );
    expect(lines[1]).toMatch(/^ 1\. char_count +100% /);
    expect(stdout).not.toMatch(/ECONNREFUSED|Unable to connect/);
  });

  test("a wrong command line is a usage error", async () => {
    const { stderr, exitCode } = await toolSearch(["words", "--limit", "0"], { ORG_EMBED_MODEL: "off" });
    expect(exitCode).not.toBe(0);
    expect(exitCode).toBe(2);
    expect(stderr).toContain("--limit needs a whole number from 1 to 1000, got 0");
  });
});
