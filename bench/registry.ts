// The registry at 10 000 generated tools: index build, the incremental update of one entry, search latency
// (FTS alone, and blended with cached embeddings from the scripted server's /api/embed, run as its own process
// as Ollama is), memory, and recall@10 against exact cosine: of the two-bit pick + re-rank against brute force
// over every vector, and of the blended result against the same fusion fed by brute force. Each figure is set
// against a baseline measured in the same run, and the targets of issue 21 are ratios to those baselines.
//   bun bench/registry.ts [--tools 10000] [--queries 300]     (--tools 100000 for the large run)
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Database } from "bun:sqlite";
import { orgCommand } from "../config/org-bun-command.ts";
import { ollamaEmbedder } from "../registry/ollama-embedder.ts";
import { reciprocalRankFusion } from "../registry/reciprocal-rank-fusion.ts";
import { REGISTRY_DATABASE_PATH } from "../registry/registry-database.ts";
import { collectToolSources } from "../registry/tool-sources.ts";
import { ToolRegistry } from "../registry/tool-registry.ts";
import { rerankCount } from "../registry/vector-matrix.ts";
import { generatedToolMetadata, simpleSpec, writeGeneratedTool } from "../testing/generated-tool-fixture.ts";
import { seededFractions } from "../testing/seeded-random.ts";

const { values } = parseArgs({ options: { tools: { type: "string", default: "10000" }, queries: { type: "string", default: "300" } } });
const toolCount = Number(values.tools);
const queryCount = Number(values.queries);

// A fixed pseudo-random vocabulary so every run indexes the same text.
const random = seededFractions(42);
const VERBS = (
  "count parse convert format sort split merge hash encode decode validate extract compute render filter " +
  "summarize normalize compare reverse round"
).split(" ");
const NOUNS = (
  "words lines characters json csv url email date time temperature currency distance text numbers list matrix " +
  "color ip address phone invoice markdown html xml yaml roman numerals bytes uuid path query token"
).split(" ");
const EXTRA = "quickly safely the of a an in into from with for every each and or to as by using strict loose unicode ascii utc local".split(" ");
const pick = (list: readonly string[]) => list[Math.floor(random() * list.length)] ?? "";
const sentence = (length: number) => Array.from({ length }, () => pick([...VERBS, ...NOUNS, ...EXTRA, ...EXTRA])).join(" ");

/** Every row's dot product with `unit`, four columns at a time (as the registry's own loop). */
function cosines(matrix: Float32Array, unit: Float32Array, rows: number, dimensions: number): Float64Array {
  const scores = new Float64Array(rows);
  for (let row = 0; row < rows; row += 1) {
    const offset = row * dimensions;
    let a = 0;
    let b = 0;
    let c = 0;
    let d = 0;
    for (let column = 0; column + 3 < dimensions; column += 4) {
      a += (matrix[offset + column] ?? 0) * (unit[column] ?? 0);
      b += (matrix[offset + column + 1] ?? 0) * (unit[column + 1] ?? 0);
      c += (matrix[offset + column + 2] ?? 0) * (unit[column + 2] ?? 0);
      d += (matrix[offset + column + 3] ?? 0) * (unit[column + 3] ?? 0);
    }
    scores[row] = a + b + c + d;
  }
  return scores;
}

const root = mkdtempSync(join(tmpdir(), "org-bench-registry-"));
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 0)} ms`;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const load = () =>
  loadavg()
    .map((value) => value.toFixed(1))
    .join(" ");

/** The scripted server as its own process, as Ollama is: its work is not this process's. Stopped by `[Symbol.asyncDispose]`. */
async function embeddingServer(dir: string) {
  const script = join(dir, "embed-script.json");
  writeFileSync(script, JSON.stringify({ models: ["nomic-embed-text"], rules: [] }));
  const child = Bun.spawn(orgCommand(["scripted-server", "--script", script, "--port", "0"]), { stdout: "pipe", stderr: "ignore" });
  const reader = child.stdout.getReader();
  let text = "";
  for (;;) {
    const url = /listening on (http:\/\/\S+)/.exec(text)?.[1];
    if (url) {
      reader.releaseLock();
      return { url, [Symbol.asyncDispose]: async () => void child.kill() };
    }
    const { done, value } = await reader.read();
    if (done) throw new Error(`the scripted server stopped before it listened: ${text}`);
    text += new TextDecoder().decode(value);
  }
}

try {
  const names: string[] = [];
  const startedWriting = performance.now();
  for (let index = 0; index < toolCount; index += 1) {
    const verb = pick(VERBS);
    const noun = pick(NOUNS);
    const name = `${verb}_${noun}_${index}`.slice(0, 48);
    names.push(name);
    // Only metadata.json: the registry reads nothing else.
    const spec = simpleSpec(
      name,
      `${verb[0]?.toUpperCase()}${verb.slice(1)}s ${noun} ${sentence(8 + Math.floor(random() * 10))}.`,
      pick(NOUNS),
      pick(NOUNS),
    );
    mkdirSync(join(root, "tools", "generated", name), { recursive: true });
    writeFileSync(join(root, "tools", "generated", name, "metadata.json"), JSON.stringify(generatedToolMetadata(spec)));
  }
  console.log(
    `registry bench — ${toolCount} generated tools (written in ${ms(performance.now() - startedWriting)}); ` +
      `${availableParallelism()} cores; ${process.arch}; load average ${load()}`,
  );

  // Baseline for the build: reading and hashing every metadata.json, and JSON.parse of each (no validation, no index).
  // In a block: each promoted source holds its file's text, which must not count in the memory figure below.
  let started = performance.now();
  let readBaseline: number;
  let descriptions: string[];
  {
    const { sources } = await collectToolSources(root);
    for (const source of sources) JSON.parse(await source.read());
    readBaseline = performance.now() - started;
    descriptions = sources.map((source, index) => `${source.name} ${index}`.toLowerCase());
  }

  started = performance.now();
  const { registry } = ToolRegistry.open(root);
  const built = await registry.refresh();
  const buildMs = performance.now() - started;
  if (built.added !== toolCount) throw new Error(`indexed ${built.added} of ${toolCount}: ${built.notices.slice(0, 3).join("; ")}`);

  // The staleness check when nothing changed (every file read and hashed), then one entry changed.
  started = performance.now();
  await registry.refresh();
  const noChangeMs = performance.now() - started;
  const first = names[0] ?? "";
  writeGeneratedTool(root, simpleSpec(first, "Counts the words of a text, now with a new description of palindromes.", "text", "words"));
  started = performance.now();
  const incremental = await registry.refresh();
  const incrementalMs = performance.now() - started;
  if (incremental.added + incremental.updated !== 1) throw new Error(`the incremental refresh touched ${JSON.stringify(incremental)}`);

  const queries = Array.from({ length: queryCount }, (_, index) =>
    index % 3 === 0 ? `how do I ${pick(VERBS)} ${pick(NOUNS)} in this ${pick(NOUNS)}?` : `${pick(VERBS)} ${pick(NOUNS)}`,
  );
  // Baseline for search: a scan of every description in memory for any of the query's words (no ranking).
  const scanTimes: number[] = [];
  for (const query of queries) {
    const words = query.toLowerCase().match(/[a-z0-9]+/g) ?? [];
    const begin = performance.now();
    let found = 0;
    for (const text of descriptions) if (words.some((word) => text.includes(word))) found += 1;
    scanTimes.push(performance.now() - begin);
    if (found < 0) console.log(found);
  }
  const ftsTimes: number[] = [];
  for (const query of queries) {
    const begin = performance.now();
    await registry.search(query, { limit: 10 });
    ftsTimes.push(performance.now() - begin);
  }

  await using server = await embeddingServer(root);
  const embedder = ollamaEmbedder({ server: server.url, model: "nomic-embed-text" });
  started = performance.now();
  const embedded = await registry.embedDocuments(embedder);
  const embedMs = performance.now() - started;
  await registry.search("warm the vector matrix", { embedder });
  const blendedTimes: number[] = [];
  const vectorTimes: number[] = [];
  const queryEmbedTimes: number[] = [];
  for (const query of queries) {
    let begin = performance.now();
    await embedder.embed([`search_query: ${query}`]);
    queryEmbedTimes.push(performance.now() - begin);
    begin = performance.now();
    await registry.search(query, { limit: 10, embedder });
    blendedTimes.push(performance.now() - begin);
    begin = performance.now();
    await registry.searchVectors(query, embedder, 50);
    vectorTimes.push(performance.now() - begin);
  }
  // After a full collection: what the registry and this bench hold, not garbage the collector has not reached yet.
  Bun.gc(true);
  const memory = process.memoryUsage();
  // Brute force, the baseline for the two-bit pick: every vector in one float32 matrix (loaded after memory was
  // read), cosine against each. Recall@k of the vector search: the share of brute force's top k it returned.
  // Recall@10 of the blended search: the share of its top 10 that the same fusion (FTS's top 50 and cosine's top 50,
  // reciprocal rank) gives when the cosine list is brute force's.
  const reader = new Database(join(root, REGISTRY_DATABASE_PATH), { readonly: true });
  const rows = reader
    .query<{ id: number; name: string; vector: Uint8Array }, [string]>(
      "SELECT tools.id AS id, tools.name AS name, embeddings.vector AS vector FROM tools JOIN embeddings ON " +
        "embeddings.hash = tools.embed_hash AND embeddings.model = ?",
    )
    .all(embedder.cacheKey);
  reader.close();
  const dimensions = (rows[0]?.vector.byteLength ?? 0) / 4;
  const matrix = new Float32Array(rows.length * dimensions);
  for (const [index, row] of rows.entries()) matrix.set(new Float32Array(row.vector.slice().buffer), index * dimensions);
  const nameOf = new Map(rows.map((row) => [row.id, row.name]));
  const bruteTimes: number[] = [];
  const recallAt = { 10: 0, 50: 0, blended: 0 };
  const recallQueries = queries.slice(0, 100);
  for (const query of recallQueries) {
    const [vector = new Float32Array(dimensions)] = await embedder.embed([`search_query: ${query}`]);
    const norm = Math.hypot(...vector) || 1;
    const unit = vector.map((value) => value / norm);
    const begin = performance.now();
    const scores = cosines(matrix, unit, rows.length, dimensions);
    bruteTimes.push(performance.now() - begin);
    const order = Array.from(scores.keys())
      .sort((a, b) => (scores[b] ?? 0) - (scores[a] ?? 0) || (rows[a]?.id ?? 0) - (rows[b]?.id ?? 0))
      .slice(0, 50)
      .map((row) => rows[row]?.id ?? -1);
    const found = new Set((await registry.searchVectors(query, embedder, 50)).map((hit) => hit.id));
    for (const k of [10, 50] as const) recallAt[k] += order.slice(0, k).filter((id) => found.has(id)).length / k / recallQueries.length;
    const exact = reciprocalRankFusion([registry.searchText(query, 50).map((hit) => hit.id), order]).slice(0, 10);
    const blendedNames = new Set((await registry.search(query, { limit: 10, embedder })).hits.map((hit) => hit.name));
    recallAt.blended += exact.filter((hit) => blendedNames.has(nameOf.get(hit.id) ?? "")).length / Math.max(1, exact.length) / recallQueries.length;
  }
  const databaseBytes =
    statSync(join(root, REGISTRY_DATABASE_PATH)).size + (statSync(`${join(root, REGISTRY_DATABASE_PATH)}-wal`, { throwIfNoEntry: false })?.size ?? 0);
  registry.close();

  const line = (label: string, times: number[]) => {
    const sorted = [...times].sort((a, b) => a - b);
    return { label, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
  };
  const scan = line(`baseline: substring scan of ${toolCount} names`, scanTimes);
  const fts = line("FTS5 BM25 alone", ftsTimes);
  const blended = line("FTS + embeddings, fused (query embedded over HTTP)", blendedTimes);
  const queryEmbed = line("baseline: embedding the query alone (HTTP round trip)", queryEmbedTimes);
  const vectors = line(
    `two-bit codes of every vector, best ${rerankCount(toolCount, 50)} re-ranked in half precision (incl. the query's embedding)`,
    vectorTimes,
  );
  const brute = line("baseline: brute-force cosine over every vector, in memory", bruteTimes);

  console.log("");
  console.log(
    `index build (open + refresh, validate ${toolCount} metadata.json, FTS5 insert): ${ms(buildMs)} — ` +
      `${(buildMs / readBaseline).toFixed(1)}× reading, hashing and JSON.parse of every file (${ms(readBaseline)})`,
  );
  console.log(`refresh with nothing changed (read + hash every file): ${ms(noChangeMs)}`);
  console.log(
    `refresh after one entry changed: ${ms(incrementalMs)} — ${(incrementalMs / noChangeMs).toFixed(2)}× the ` +
      `no-change refresh; ${((incrementalMs / buildMs) * 100).toFixed(1)} % of a full build`,
  );
  console.log(`embedding ${embedded} documents once (scripted server, batches of 64): ${ms(embedMs)}`);
  console.log("");
  console.log(`search latency over ${queryCount} queries (limit 10):`);
  for (const row of [scan, fts, queryEmbed, brute, vectors, blended])
    console.log(`  ${row.label.padEnd(64)} p50 ${ms(row.p50).padStart(9)}  p99 ${ms(row.p99).padStart(9)}`);
  console.log(`  FTS p50 is ${(fts.p50 / scan.p50).toFixed(2)}× the unranked scan; blended p50 is ${(blended.p50 / fts.p50).toFixed(1)}× FTS alone`);
  const vectorOnly = vectors.p50 - queryEmbed.p50;
  console.log(
    `  vector search p50 (query embedding taken off) is ${(vectorOnly / brute.p50).toFixed(2)}× brute force; ` +
      `recall@10 against brute force over ${recallQueries.length} queries ${(recallAt[10] * 100).toFixed(1)} ` +
      `% (@50 ${(recallAt[50] * 100).toFixed(1)} %); blended recall@10 against the fusion fed by brute force ` +
      `${(recallAt.blended * 100).toFixed(1)} %`,
  );
  console.log("");
  // Issue 21's targets, as ratios to this run's brute force: its 3 ms at 10 000 tools was 0.77× the brute force of
  // its run (3.9 ms); its 10 ms at 100 000 is a quarter of brute force over ten times the vectors.
  const large = toolCount >= 100_000;
  const ratio = large ? 0.25 : 0.75;
  const verdict = (met: boolean) => (met ? "MET" : "MISSED");
  console.log(`targets (issue 21, ${availableParallelism()} cores, load average ${load()} at the end):`);
  console.log(
    `  blended p50 ≤ ${ratio}× brute-force p50: ${ms(blended.p50)} vs ${ms(ratio * brute.p50)} ` +
      `(${(blended.p50 / brute.p50).toFixed(2)}×; ${(blended.p50 / fts.p50).toFixed(2)}× FTS alone; the ` +
      `issue's absolute figure: ${large ? 10 : 3} ms) — ${verdict(blended.p50 <= ratio * brute.p50)}`,
  );
  if (large) console.log(`  rss ≤ 400 MiB after a full GC: ${mib(memory.rss)} — ${verdict(memory.rss <= 400 * 1024 * 1024)}`);
  console.log(
    `  recall@10 ≥ 95 % (vector search against brute force; blended against the fusion fed by brute force): ` +
      `${(recallAt[10] * 100).toFixed(1)} %, ${(recallAt.blended * 100).toFixed(1)} % — ${verdict(recallAt[10] >= 0.95 && recallAt.blended >= 0.95)}`,
  );
  console.log("");
  console.log(
    `memory after the searches and a full GC: rss ${mib(memory.rss)}, heap used ${mib(memory.heapUsed)} ` +
      `(two-bit codes: ${mib(toolCount * 192)}; half-precision vectors ${mib(toolCount * 768 * 2)}; a float32 ` +
      `matrix would be ${mib(toolCount * 768 * 4)}); database file ${mib(databaseBytes)}`,
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}
