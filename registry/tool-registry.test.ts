import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fakeEmbedding } from "../scripted-server/embeddings.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { simpleSpec, writeGeneratedTool, writeGeneratedToolMetadata } from "../testing/generated-tool-fixture.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { type Embedder, ollamaEmbedder } from "./ollama-embedder.ts";
import { REGISTRY_DATABASE_PATH } from "./registry-database.ts";
import { ToolRegistry } from "./tool-registry.ts";
import { seededWords } from "../testing/seeded-random.ts";

const TOOLS = [
  simpleSpec("word_count", "Counts the words in a text, splitting on whitespace.", "text", "words"),
  simpleSpec("char_count", "Counts the characters of a string, spaces included.", "text", "characters"),
  simpleSpec("reverse_text", "Reverses a string character by character.", "text", "reversed"),
  simpleSpec("json_pretty", "Formats JSON with two-space indentation.", "json", "formatted"),
  simpleSpec("celsius_to_fahrenheit", "Converts a temperature from degrees Celsius to Fahrenheit.", "celsius", "fahrenheit"),
  simpleSpec("sha256_hash", "Hashes a string with SHA-256 and returns the hex digest.", "text", "digest"),
  simpleSpec("url_parse", "Splits a URL into scheme, host, port, path and query.", "url", "parts"),
  simpleSpec("sort_lines", "Sorts the lines of a text alphabetically.", "text", "sorted"),
];

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function checkout(): string {
  const root = mkdtempSync(join(tmpdir(), "org-registry-"));
  roots.push(root);
  for (const spec of TOOLS) writeGeneratedTool(root, spec);
  return root;
}

async function opened(root: string) {
  const { registry, notices } = ToolRegistry.open(root);
  const summary = await registry.refresh();
  return { registry, notices, summary };
}

describe("search over generated tools (FTS5, BM25)", () => {
  test("ranks the right tool first on a fixed set of tools and queries", async () => {
    const { registry, summary } = await opened(checkout());
    using _ = registry;
    expect(summary).toMatchObject({ added: 8, updated: 0, removed: 0, notices: [] });
    const first = async (query: string) => (await registry.search(query)).hits[0]?.name;
    expect(await first("how many words are in this text?")).toBe("word_count");
    expect(await first("convert a temperature to fahrenheit")).toBe("celsius_to_fahrenheit");
    expect(await first("sha-256 digest of a string")).toBe("sha256_hash");
    expect(await first("sort lines alphabetically")).toBe("sort_lines");
    expect(await first("pretty print json")).toBe("json_pretty");
    expect(await first("what port is in this url")).toBe("url_parse");
    // Some words are enough (OR), and a tool matching more of them ranks higher.
    const counting = await registry.search("count characters");
    expect(counting.method).toBe("fts");
    expect(counting.hits.map((hit) => hit.name).slice(0, 2)).toEqual(["char_count", "word_count"]);
    expect(counting.hits[0]?.score).toBeGreaterThan(counting.hits[1]?.score as number);
    expect(counting.hits[0]).toMatchObject({ origin: "promoted", description: "Counts the characters of a string, spaces included." });
  });

  test("hostile query text is text, never FTS5 syntax", async () => {
    const { registry } = await opened(checkout());
    using _ = registry;
    const hostile = [
      '"',
      "*",
      "NEAR(",
      "-",
      '"unbalanced',
      "words*",
      "a AND",
      ")",
      "^",
      "text:",
      "word_count:",
      "NOT",
      "(((",
      "\u0000\u001b[2J",
      "🙂",
      "x".repeat(100_000),
      "-words",
      '"words" NEAR("text")',
    ];
    for (const query of hostile) {
      const outcome = await registry.search(query);
      expect(Array.isArray(outcome.hits)).toBe(true);
    }
    expect((await registry.search('"words" NEAR("text")')).hits[0]?.name).toBe("word_count");
    expect((await registry.search("-words")).hits[0]?.name).toBe("word_count");
  });
});

describe("the index is a cache kept fresh by content hashes", () => {
  test("a changed, a removed and a new tool are seen; unchanged ones are not re-read", async () => {
    const root = checkout();
    const { registry } = await opened(root);
    using _ = registry;
    writeGeneratedTool(root, simpleSpec("reverse_text", "Mirrors a string so it reads backwards, like a palindrome check.", "text", "reversed"));
    rmSync(join(root, "tools/generated/url_parse"), { recursive: true });
    writeGeneratedTool(root, simpleSpec("roman_numeral", "Writes a number in Roman numerals.", "number", "roman"));
    expect(await registry.refresh()).toMatchObject({ added: 1, updated: 1, removed: 1, unchanged: 6 });
    expect((await registry.search("palindrome")).hits.map((hit) => hit.name)).toEqual(["reverse_text"]);
    expect((await registry.search("url")).hits).toEqual([]);
    expect((await registry.search("roman numerals")).hits[0]?.name).toBe("roman_numeral");
    expect(await registry.refresh()).toMatchObject({ added: 0, updated: 0, removed: 0, unchanged: 8 });
  });

  test("a metadata.json that does not fit the schema is skipped with a notice naming it", async () => {
    const root = checkout();
    writeFileSync(join(root, "tools/generated/word_count/metadata.json"), JSON.stringify({ version: 1, spec: { name: "word_count" } }));
    writeGeneratedTool(root, simpleSpec("other_name", "A tool whose folder is not its name."));
    const path = join(root, "tools/generated/other_name/metadata.json");
    writeFileSync(path, readFileSync(path, "utf8").replace('"name": "other_name"', '"name": "char_count"'));
    const { registry, summary } = await opened(root);
    using _ = registry;
    expect(summary.added).toBe(7);
    expect(summary.notices.join("\n")).toContain("tools/generated/word_count/metadata.json: metadata does not fit the schema");
    expect(summary.notices.join("\n")).toContain('tools/generated/other_name/metadata.json: spec.name "char_count" is not its folder\'s name');
    expect((await registry.search("words")).hits.map((hit) => hit.name)).not.toContain("word_count");
  });

  test("hostile metadata: a file over 256 KiB is skipped unread, a folder with control characters is named escaped, huge fields are capped", async () => {
    const root = checkout();
    writeFileSync(join(root, "tools/generated/word_count/metadata.json"), " ".repeat(300 * 1024));
    mkdirSync(join(root, "tools/generated/evil\u001b]0;x\u0007"), { recursive: true });
    writeGeneratedTool(root, {
      ...simpleSpec("huge_examples", "A tool whose examples are enormous."),
      examples: [
        { input: { text: "z".repeat(200_000) }, output: { result: 1 } },
        { input: { text: "b" }, output: { result: 2 } },
      ],
    });
    const { registry, summary } = await opened(root);
    using _ = registry;
    expect(summary.notices).toContain(
      "skipped tools/generated/word_count/metadata.json: 307200 bytes, more than the 262144 a metadata.json may have",
    );
    expect(summary.notices).toContain('skipped "evil\\u001b]0;x\\u0007" in tools/generated: not a tool name (snake_case, 2–48 characters)');
    expect((await registry.search("enormous")).hits[0]?.name).toBe("huge_examples");
    const size = new Database(join(root, REGISTRY_DATABASE_PATH))
      .query<{ size: number }, []>("SELECT max(length(examples)) AS size FROM tools_fts")
      .get()?.size;
    expect(size).toBeLessThanOrEqual(4_000);
  });

  test("deleting the database loses nothing: the next open rebuilds it", async () => {
    const root = checkout();
    (await opened(root)).registry.close();
    rmSync(join(root, ".org"), { recursive: true });
    const { registry, notices, summary } = await opened(root);
    using _ = registry;
    expect(notices).toEqual([]);
    expect(summary.added).toBe(8);
    expect((await registry.search("how many words")).hits[0]?.name).toBe("word_count");
  });

  test("a file that is not a database, or another program's database, is rebuilt with a notice", async () => {
    const root = checkout();
    const path = join(root, REGISTRY_DATABASE_PATH);
    (await opened(root)).registry.close();
    writeFileSync(path, "this is not sqlite at all ".repeat(100));
    const garbage = await opened(root);
    expect(garbage.notices.join("")).toMatch(/registry\.sqlite was damaged .*rebuilt it from the tools/);
    expect(garbage.summary.added).toBe(8);
    garbage.registry.close();

    rmSync(join(root, ".org"), { recursive: true });
    (await opened(root)).registry.close();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${path}${suffix}`, { force: true });
    const foreign = new Database(path);
    foreign.exec("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine')");
    foreign.close();
    const replaced = await opened(root);
    using _ = replaced.registry;
    expect(replaced.notices.join("")).toContain("was not org's registry");
    expect((await replaced.registry.search("sort lines")).hits[0]?.name).toBe("sort_lines");
  });

  test("a database damaged past its header is rebuilt on refresh, with a notice", async () => {
    const root = checkout();
    const path = join(root, REGISTRY_DATABASE_PATH);
    const first = await opened(root);
    first.registry.close();
    for (const suffix of ["-wal", "-shm"]) rmSync(`${path}${suffix}`, { force: true });
    const bytes = readFileSync(path);
    // Keep the header page, scribble over the rest.
    writeFileSync(path, Buffer.concat([bytes.subarray(0, 4096), Buffer.alloc(bytes.length - 4096, 0xa5)]));
    truncateSync(path, bytes.length);
    const { registry, notices, summary } = await opened(root);
    using _ = registry;
    expect([...notices, ...summary.notices].join("\n")).toMatch(/was damaged/);
    expect((await registry.search("hash a string")).hits[0]?.name).toBe("sha256_hash");
  });
});

describe("candidate branches", () => {
  test("a new cand/* branch's tool is found and marked; tools it inherits from main are not doubled", async () => {
    using repo = tempGitRepo("org-registry-git-");
    for (const spec of TOOLS.slice(0, 3)) writeGeneratedTool(repo.dir, spec);
    gitSync(repo.dir, ["add", "tools"]);
    gitSync(repo.dir, ["commit", "-qm", "promoted tools"]);
    const { registry, summary } = await opened(repo.dir);
    using _ = registry;
    expect(summary.added).toBe(3);

    gitSync(repo.dir, ["switch", "-q", "-c", "cand/20261123T101500Z"]);
    writeGeneratedTool(repo.dir, simpleSpec("line_count", "Counts the lines of a text.", "text", "lines"));
    gitSync(repo.dir, ["add", "tools"]);
    gitSync(repo.dir, ["commit", "-qm", "candidate"]);
    gitSync(repo.dir, ["branch", "cand/not-a-timestamp"]);
    gitSync(repo.dir, ["switch", "-q", "main"]);
    rmSync(join(repo.dir, "tools/generated/line_count"), { recursive: true, force: true });

    const second = await registry.refresh();
    expect(second).toMatchObject({ added: 1, removed: 0, unchanged: 3 });
    expect(second.notices).toEqual(['skipped branch "cand/not-a-timestamp": not a candidate branch name (cand/YYYYMMDDTHHMMSSZ)']);
    expect(registry.counts()).toEqual({ promoted: 3, candidate: 1 });
    const found = await registry.search("how many lines");
    expect(found.hits[0]).toMatchObject({ name: "line_count", origin: "candidate", branch: "cand/20261123T101500Z" });
    expect((await registry.search("how many lines", { promotedOnly: true })).hits.map((hit) => hit.name)).not.toContain("line_count");
    gitSync(repo.dir, ["branch", "-D", "cand/20261123T101500Z"]);
    expect(await registry.refresh()).toMatchObject({ removed: 1 });
  });
});

describe("blended with embeddings from /api/embed", () => {
  test("reciprocal rank fusion with the scripted server's /api/embed; vectors cached by content hash", async () => {
    await using server = await startScriptedServer({ script: { models: ["nomic-embed-text"], rules: [] } });
    const { registry } = await opened(checkout());
    using _ = registry;
    const embedder = ollamaEmbedder({ server: server.url, model: "nomic-embed-text" });
    // One word FTS cannot split: only the embeddings (shared word pieces) find it.
    expect((await registry.search("wordcount")).hits).toEqual([]);
    const blended = await registry.search("wordcount", { embedder, limit: 3 });
    expect(blended.method).toBe("fts+embeddings");
    expect(blended.hits[0]?.name).toBe("word_count");
    const bodies = server.requests.map((request) => request.body as { model: string; input: string[] });
    expect(bodies[0]?.input).toEqual(["search_query: wordcount"]);
    expect(bodies[1]?.model).toBe("nomic-embed-text");
    expect(bodies[1]?.input).toHaveLength(8);
    expect(bodies[1]?.input.every((text) => text.startsWith("search_document: "))).toBe(true);
    // Cached: the next search embeds only its query.
    const again = await registry.search("how many words are in this text?", { embedder });
    expect(server.requests).toHaveLength(3);
    expect(again.hits[0]?.name).toBe("word_count");
    expect(again.hits[0]?.score).toBeCloseTo(2 / 61, 6);
    // Fewer re-ranked than tools: the two-bit codes' best 3 still hold the true nearest.
    const exhaustive = await registry.searchVectors("count the words of a text", embedder, 8);
    expect(exhaustive).toHaveLength(8);
    const narrowed = await registry.searchVectors("count the words of a text", embedder, 1, undefined, undefined, 3);
    expect(narrowed).toEqual(exhaustive.slice(0, 1));
  });

  test("past 1 000 tools the two-bit scan finds brute force's nearest, and follows a changed, a removed and a new tool", async () => {
    // The scripted server's vectors, computed in this process: 1 200 tools embed in moments, with no server to start.
    const embedder: Embedder = {
      model: "fake",
      cacheKey: "fake in process",
      label: "fake",
      embed: async (texts) => texts.map((text) => Float32Array.from(fakeEmbedding(text))),
    };
    // Descriptions of seeded random words, as bench:registry writes them.
    const words =
      "count parse convert format sort split merge hash encode decode validate extract words lines json csv url email date temperature currency text numbers markdown the of into from with for each".split(
        " ",
      );
    const next = seededWords(17);
    const word = () => words[(next() >>> 16) % words.length] ?? "";
    const root = mkdtempSync(join(tmpdir(), "org-registry-"));
    roots.push(root);
    // Just past the 1 000 where the scan starts (vector-matrix.ts), and still past it after one removed and one added.
    // The registry reads a tool's metadata.json alone, so that is all these tools are given: files are slow to make.
    const names = Array.from({ length: 1_001 }, (_, index) => `${word()}_${word()}_${index}`);
    for (const name of names) writeGeneratedToolMetadata(root, simpleSpec(name, Array.from({ length: 8 }, word).join(" ")));
    const { registry } = await opened(root);
    using _ = registry;
    const query = "count the words of the csv";
    const reader = new Database(join(root, REGISTRY_DATABASE_PATH), { readonly: true });
    /** Cosine over every vector the database holds for the tools now: ids, best first. */
    const bruteForce = async (limit: number) => {
      const [vector = new Float32Array()] = await embedder.embed([`search_query: ${query}`]);
      const norm = Math.hypot(...vector);
      const rows = reader
        .query<{ id: number; vector: Uint8Array }, [string]>(
          "SELECT tools.id AS id, embeddings.vector AS vector FROM tools JOIN embeddings ON embeddings.hash = tools.embed_hash AND embeddings.model = ?",
        )
        .all(embedder.cacheKey);
      const scored = rows.map((row) => {
        const stored = new Float32Array(row.vector.slice().buffer);
        return { id: row.id, score: stored.reduce((sum, value, index) => sum + value * (vector[index] ?? 0), 0) / norm };
      });
      return scored
        .sort((a, b) => b.score - a.score || a.id - b.id)
        .map((hit) => hit.id)
        .slice(0, limit);
    };
    const idOf = (name: string) => reader.query<{ id: number }, [string]>("SELECT id FROM tools WHERE name = ?").get(name)?.id;
    try {
      const before = (await registry.searchVectors(query, embedder, 10)).map((hit) => hit.id);
      expect(before).toEqual(await bruteForce(10));
      // The nearest tool goes away, another now says exactly what is asked, and a new one nearly does.
      const nearest = names.find((name) => idOf(name) === before[0]) ?? "";
      rmSync(join(root, "tools/generated", nearest), { recursive: true });
      const changed = names[5] ?? "";
      writeGeneratedTool(root, simpleSpec(changed, query));
      writeGeneratedTool(root, simpleSpec("csv_word_count", "count the words of a csv"));
      expect(await registry.refresh()).toMatchObject({ added: 1, updated: 1, removed: 1 });
      const after = (await registry.searchVectors(query, embedder, 10)).map((hit) => hit.id);
      expect(after).toEqual(await bruteForce(10));
      expect(new Set<number | undefined>(after.slice(0, 2))).toEqual(new Set([idOf(changed), idOf("csv_word_count")]));
      expect(after).not.toContain(before[0]);
    } finally {
      reader.close();
    }
  });

  test("vectors cached from one server are never used for another: switching to an honest server re-embeds", async () => {
    await using honest = await startScriptedServer({ script: { models: ["nomic-embed-text"], rules: [] } });
    const { registry } = await opened(checkout());
    using _ = registry;
    // A server that answers a valid-looking but constant vector for everything: it would rank every tool alike.
    let lyingCalls = 0;
    const liar = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(request) {
        lyingCalls += 1;
        const { input } = (await request.json()) as { input: string[] };
        return Response.json({ embeddings: input.map(() => Array.from({ length: 768 }, (_, index) => (index === 0 ? 1 : 0))) });
      },
    });
    try {
      const lying = ollamaEmbedder({ server: `http://127.0.0.1:${liar.port}`, model: "nomic-embed-text" });
      await registry.search("wordcount", { embedder: lying });
      expect(lyingCalls).toBe(2);
    } finally {
      liar.stop(true);
    }
    const embedder = ollamaEmbedder({ server: honest.url, model: "nomic-embed-text" });
    const blended = await registry.search("wordcount", { embedder, limit: 3 });
    // The honest server was asked for every document, not only the query: nothing of the liar's was reused.
    const bodies = honest.requests.map((request) => request.body as { input: string[] });
    expect(bodies[1]?.input).toHaveLength(8);
    expect(blended.hits[0]?.name).toBe("word_count");
  });

  test("with no embedding server, FTS alone, and the outcome says why", async () => {
    const { registry } = await opened(checkout());
    using _ = registry;
    await using server = await startScriptedServer({ script: { rules: [] } });
    const closed = server.url;
    await server.stop();
    const outcome = await registry.search("how many words", {
      embedder: ollamaEmbedder({ server: closed, model: "nomic-embed-text", timeoutMs: 5_000 }),
    });
    expect(outcome.method).toBe("fts");
    expect(outcome.note).toContain(`embeddings not used: no embedding server answered at ${closed}/api/embed`);
    expect(outcome.hits[0]?.name).toBe("word_count");
  });
});
