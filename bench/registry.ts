// The registry at 10 000 generated tools: index build, the incremental update of one entry, search latency
// (FTS alone, and blended with cached embeddings from the scripted server's /api/embed), memory, and the recall
// of the one-bit candidate pick + re-rank against brute-force cosine over every vector. Each figure is set
// against a baseline measured in the same run.
//   bun bench/registry.ts [--tools 10000] [--queries 300]     (--tools 100000 for the large run)
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ollamaEmbedder } from "../registry/ollama-embedder.ts";
import { REGISTRY_DATABASE_PATH } from "../registry/registry-database.ts";
import { collectToolSources } from "../registry/tool-sources.ts";
import { rerankCandidates, ToolRegistry } from "../registry/tool-registry.ts";
import { Database } from "bun:sqlite";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { generatedToolMetadata, simpleSpec, writeGeneratedTool } from "../testing/generated-tool-fixture.ts";

const { values } = parseArgs({ options: { tools: { type: "string", default: "10000" }, queries: { type: "string", default: "300" } } });
const toolCount = Number(values.tools);
const queryCount = Number(values.queries);

// A fixed pseudo-random vocabulary so every run indexes the same text.
let seed = 42;
const random = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
};
const VERBS =
  "count parse convert format sort split merge hash encode decode validate extract compute render filter summarize normalize compare reverse round".split(" ");
const NOUNS =
  "words lines characters json csv url email date time temperature currency distance text numbers list matrix color ip address phone invoice markdown html xml yaml roman numerals bytes uuid path query token".split(
    " ",
  );
const EXTRA = "quickly safely the of a an in into from with for every each and or to as by using strict loose unicode ascii utc local".split(" ");
const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)] as T;
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
      a += (matrix[offset + column] as number) * (unit[column] as number);
      b += (matrix[offset + column + 1] as number) * (unit[column + 1] as number);
      c += (matrix[offset + column + 2] as number) * (unit[column + 2] as number);
      d += (matrix[offset + column + 3] as number) * (unit[column + 3] as number);
    }
    scores[row] = a + b + c + d;
  }
  return scores;
}

const root = mkdtempSync(join(tmpdir(), "org-bench-registry-"));
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 0)} ms`;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

try {
  const names: string[] = [];
  const startedWriting = performance.now();
  for (let index = 0; index < toolCount; index += 1) {
    const verb = pick(VERBS);
    const noun = pick(NOUNS);
    const name = `${verb}_${noun}_${index}`.slice(0, 48);
    names.push(name);
    // Only metadata.json: the registry reads nothing else.
    const spec = simpleSpec(name, `${verb[0]?.toUpperCase()}${verb.slice(1)}s ${noun} ${sentence(8 + Math.floor(random() * 10))}.`, pick(NOUNS), pick(NOUNS));
    mkdirSync(join(root, "tools", "generated", name), { recursive: true });
    writeFileSync(join(root, "tools", "generated", name, "metadata.json"), JSON.stringify(generatedToolMetadata(spec)));
  }
  console.log(
    `registry bench — ${toolCount} generated tools (written in ${ms(performance.now() - startedWriting)}); ${availableParallelism()} cores; ${process.arch}; load average ${loadavg()
      .map((value) => value.toFixed(1))
      .join(" ")}`,
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
  const first = names[0] as string;
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

  await using server = await startScriptedServer({ script: { models: ["nomic-embed-text"], rules: [] } });
  const embedder = ollamaEmbedder({ baseUrl: server.url, model: "nomic-embed-text" });
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
  // Brute force, the baseline for the one-bit pick: every vector in one float32 matrix (loaded after memory was
  // read), cosine against each; recall@k is the share of its top k that the registry's vector search returned.
  const reader = new Database(join(root, REGISTRY_DATABASE_PATH), { readonly: true });
  const rows = reader
    .query<{ id: number; vector: Uint8Array }, [string]>(
      "SELECT tools.id AS id, embeddings.vector AS vector FROM tools JOIN embeddings ON embeddings.hash = tools.embed_hash AND embeddings.model = ?",
    )
    .all(embedder.cacheKey);
  reader.close();
  const dimensions = (rows[0]?.vector.byteLength ?? 0) / 4;
  const matrix = new Float32Array(rows.length * dimensions);
  for (const [index, row] of rows.entries()) matrix.set(new Float32Array(row.vector.slice().buffer), index * dimensions);
  const bruteTimes: number[] = [];
  const recallAt = { 10: 0, 50: 0 };
  for (const query of queries.slice(0, 100)) {
    const [raw] = await embedder.embed([`search_query: ${query}`]);
    const vector = raw as Float32Array;
    const norm = Math.hypot(...vector) || 1;
    const unit = vector.map((value) => value / norm);
    const begin = performance.now();
    const scores = cosines(matrix, unit, rows.length, dimensions);
    bruteTimes.push(performance.now() - begin);
    const order = Array.from(scores.keys()).sort((a, b) => (scores[b] as number) - (scores[a] as number) || (rows[a]?.id ?? 0) - (rows[b]?.id ?? 0));
    const found = new Set((await registry.searchVectors(query, embedder, 50)).map((hit) => hit.id));
    for (const k of [10, 50] as const) recallAt[k] += order.slice(0, k).filter((row) => found.has(rows[row]?.id ?? -1)).length / k / 100;
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
  const vectors = line(`one-bit pick of ${rerankCandidates(toolCount)} + half-precision re-rank (incl. the query's embedding)`, vectorTimes);
  const brute = line("baseline: brute-force cosine over every vector, in memory", bruteTimes);

  console.log("");
  console.log(
    `index build (open + refresh, validate ${toolCount} metadata.json, FTS5 insert): ${ms(buildMs)} — ${(buildMs / readBaseline).toFixed(1)}× reading, hashing and JSON.parse of every file (${ms(readBaseline)})`,
  );
  console.log(`refresh with nothing changed (read + hash every file): ${ms(noChangeMs)}`);
  console.log(
    `refresh after one entry changed: ${ms(incrementalMs)} — ${(incrementalMs / noChangeMs).toFixed(2)}× the no-change refresh; ${((incrementalMs / buildMs) * 100).toFixed(1)} % of a full build`,
  );
  console.log(`embedding ${embedded} documents once (scripted server, batches of 64): ${ms(embedMs)}`);
  console.log("");
  console.log(`search latency over ${queryCount} queries (limit 10):`);
  for (const row of [scan, fts, queryEmbed, brute, vectors, blended])
    console.log(`  ${row.label.padEnd(64)} p50 ${ms(row.p50).padStart(9)}  p99 ${ms(row.p99).padStart(9)}`);
  console.log(`  FTS p50 is ${(fts.p50 / scan.p50).toFixed(2)}× the unranked scan; blended p50 is ${(blended.p50 / fts.p50).toFixed(1)}× FTS alone`);
  console.log(
    `  vector search p50 is ${((vectors.p50 - queryEmbed.p50) / brute.p50).toFixed(2)}× brute force (query embedding taken off); recall against brute force over 100 queries: @10 ${(recallAt[10] * 100).toFixed(1)} %, @50 ${(recallAt[50] * 100).toFixed(1)} %`,
  );
  const target = toolCount >= 100_000 ? { p50: 10, label: "blended p50 ≤ 10 ms, rss ≤ 400 MiB at 100 000" } : { p50: 3, label: "blended p50 ≤ 3 ms at 10 000" };
  console.log(`  target: ${target.label} — ${blended.p50 <= target.p50 && (toolCount < 100_000 || memory.rss <= 400 * 1024 * 1024) ? "met" : "missed"}`);
  console.log("");
  console.log(
    `memory after the searches and a full GC: rss ${mib(memory.rss)}, heap used ${mib(memory.heapUsed)} (one-bit codes: ${mib(toolCount * 96)}; a float32 matrix would be ${mib(toolCount * 768 * 4)}); database file ${mib(databaseBytes)}`,
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}
