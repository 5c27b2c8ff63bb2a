// `org workflow plan`'s own work, model time excluded: finding the tools for a goal in a registry of 10 000 generated
// tools (the registry's search and reading the offered tools' metadata) and checking a 12-step plan (workflow check's
// checks and the type reasoning). Each is set against a baseline measured in the same run: the registry's bare
// full-text search, and workflow check's static checks alone. Target (issue 44): lookup and check ≤ 50 ms together.
//   bun bench/plan.ts [--tools 10000] [--runs 200]
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { planCatalog, planTools } from "../planner/plan-catalog.ts";
import { ToolRegistry } from "../registry/tool-registry.ts";
import { simpleSpec, writeGeneratedToolMetadata } from "../testing/generated-tool-fixture.ts";
import { checkPlan } from "../workflows/check-plan.ts";
import { checkWorkflow } from "../workflows/load-workflow.ts";
import { parseWorkflow } from "../workflows/workflow-file.ts";

const { values } = parseArgs({ options: { tools: { type: "string", default: "10000" }, runs: { type: "string", default: "200" } } });
const toolCount = Number(values.tools);
const runs = Number(values.runs);

const VERBS = "count parse convert format sort split merge hash encode decode validate extract compute render filter summarize".split(" ");
const NOUNS = "words lines characters json csv url email date time temperature currency distance text numbers list matrix color".split(" ");
const nameOf = (index: number) => `${VERBS[index % VERBS.length]}_${NOUNS[Math.floor(index / VERBS.length) % NOUNS.length]}_${index}`;

const root = mkdtempSync(join(tmpdir(), "org-bench-plan-"));
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const median = (samples: number[]) =>
  quantile(
    [...samples].sort((a, b) => a - b),
    0.5,
  );
const p99 = (samples: number[]) =>
  quantile(
    [...samples].sort((a, b) => a - b),
    0.99,
  );
const ms = (value: number) => `${value.toFixed(2)} ms`;

function time<T>(samples: number[], work: () => T): T {
  const started = performance.now();
  const result = work();
  samples.push(performance.now() - started);
  return result;
}

async function timeAsync<T>(samples: number[], work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  samples.push(performance.now() - started);
  return result;
}

/** A 12-step chain over tools that take and give text: each step reads the one before, a foreach and a condition among them. */
function twelveSteps(names: string[]) {
  const steps = names.slice(0, 12).map((tool, index) => ({
    id: `s${index}`,
    tool,
    inputs: { text: index === 0 ? "$inputs.text" : `\${steps.s${index - 1}.output.result} and $inputs.text` },
    ...(index === 6 ? { if_condition: "$inputs.loud" } : {}),
  }));
  return parseWorkflow(
    JSON.stringify({
      name: "twelve",
      inputs: { type: "object", properties: { text: { type: "string" }, loud: { type: "boolean" } }, required: ["text", "loud"] },
      steps,
      output: { last: "$steps.s11.output.result" },
    }),
    "plan",
  );
}

try {
  console.log(`bench plan: ${toolCount} generated tools, ${runs} runs, ${availableParallelism()} cores, load ${loadavg()[0]?.toFixed(1)}`);
  for (let index = 0; index < toolCount; index += 1) {
    const name = nameOf(index);
    writeGeneratedToolMetadata(root, simpleSpec(name, `${VERBS[index % VERBS.length]} the ${NOUNS[index % NOUNS.length]} of a text (${index})`));
  }
  const { registry } = ToolRegistry.open(root);
  const built = performance.now();
  await registry.refresh();
  console.log(`index built in ${((performance.now() - built) / 1000).toFixed(1)} s (not in the figures below)`);

  const goals = Array.from(
    { length: runs },
    (_, index) => `${VERBS[index % VERBS.length]} the ${NOUNS[(index * 7) % NOUNS.length]} and then count the words`,
  );
  const bare: number[] = [];
  const lookup: number[] = [];
  let offered: Awaited<ReturnType<typeof planCatalog>>["tools"] = [];
  for (const goal of goals) {
    time(bare, () => registry.searchText(goal, 40));
    offered = (await timeAsync(lookup, () => planCatalog(goal, { registry, roots: [root], branches: [], limit: 20 }))).tools;
  }
  registry.close();

  const workflow = twelveSteps(offered.map((tool) => tool.name));
  const tools = planTools(offered);
  const staticOnly: number[] = [];
  const full: number[] = [];
  let errors = 0;
  for (let run = 0; run < runs; run += 1) {
    time(staticOnly, () => checkWorkflow(workflow, "plan", { checkTool: () => undefined }));
    errors = time(full, () => checkPlan(workflow, { tools, workflows: new Map(), maxSteps: 12, inputs: { text: "a b", loud: true } })).length;
  }
  const together = median(lookup) + median(full);
  console.log(
    `registry lookup (search and the ${offered.length} offered tools' metadata): p50 ${ms(median(lookup))}, ` +
      `p99 ${ms(p99(lookup))}; bare full-text search p50 ${ms(median(bare))} (${(median(lookup) / median(bare)).toFixed(1)}×)`,
  );
  console.log(
    `check of a 12-step plan (${errors} error(s)): p50 ${ms(median(full))}, p99 ${ms(p99(full))}; workflow ` +
      `check's static checks alone p50 ${ms(median(staticOnly))} (${(median(full) / median(staticOnly)).toFixed(1)}×)`,
  );
  console.log(`lookup + check: ${ms(together)} at p50 — target ≤ 50 ms: ${together <= 50 ? "met" : "missed"}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
