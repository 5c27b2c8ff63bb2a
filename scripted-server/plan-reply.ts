// The scripted server's planner (`planWorkflow` in a reply): it plays `org workflow plan`'s model by composing the
// tools the request actually lists, so what it submits depends on what org offered. It reads a goal as jobs (", and"
// between them), each done on the whole text or on each of its lines; a job is done by the listed tool whose name and
// description hold (nearly) all of its words and that takes one text, a job "on each line" after a tool that splits a
// text into a list of strings. What no listed tool does is named under `missing`, as the planner's instructions ask.

/** A tool as the planner's request lists it (one JSON object a line). */
type ListedTool = { name: string; description: string; input_schema: unknown; output_schema: unknown };

/** What the planner's request says: the goal, the inputs the plan will run on, the tools it may use. */
export type PlanRequest = { goal: string; inputs: Record<string, unknown> | undefined; tools: ListedTool[] };

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** Reads the planner's first message (`Goal: …`, `Inputs it will run on: …`, a tool a line); undefined when it is not one. */
export function readPlanRequest(text: string): PlanRequest | undefined {
  const goal = /^Goal: (.*)$/m.exec(text)?.[1]?.trim();
  if (!goal) return undefined;
  const inputsText = /^Inputs it will run on: (.*)$/m.exec(text)?.[1] ?? "";
  let inputs: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(inputsText);
    if (isRecord(parsed)) inputs = parsed;
  } catch {
    inputs = undefined;
  }
  const tools: ListedTool[] = [];
  const listing = text.slice(text.search(/^Tools \(\d+\)/m) + 1);
  for (const line of listing.split("\n")) {
    if (!line.startsWith("{")) {
      if (line.startsWith("Saved workflows")) break;
      continue;
    }
    try {
      const tool: unknown = JSON.parse(line);
      if (isRecord(tool) && typeof tool.name === "string") {
        tools.push({
          name: tool.name,
          description: String(tool.description ?? ""),
          input_schema: tool.input_schema,
          output_schema: tool.output_schema,
        });
      }
    } catch {
      // A line that is not a tool's JSON is not a tool.
    }
  }
  return { goal, inputs, tools };
}

/** Words that say nothing of what a job does. */
const FILLER = new Set(
  (
    "a an the of in on to for each every line lines text texts it its this that and into with from by all given " +
    "some me please up one what how is are"
  ).split(" "),
);

/** A word as the planner compares words: lower case, a plural's s dropped. */
const stem = (word: string) => word.toLowerCase().replace(/(?<=[a-z]{3})(es|s)$/, "");
const wordsOf = (text: string) => (text.toLowerCase().match(/[a-z]+/g) ?? []).map(stem);
const contentWords = (text: string) => [...new Set(wordsOf(text).filter((word) => !FILLER.has(word)))];

/** The one required string input of a tool's schema, when that is all it takes. */
function textInput(schema: unknown): string | undefined {
  if (!isRecord(schema) || !isRecord(schema.properties)) return undefined;
  const required = Array.isArray(schema.required) ? schema.required.filter((name): name is string => typeof name === "string") : [];
  const [only, ...rest] = required;
  if (only === undefined || rest.length > 0) return undefined;
  const property = schema.properties[only];
  return isRecord(property) && property.type === "string" ? only : undefined;
}

/** The output field of a tool that is a list of strings, when it has one. */
function listOfStrings(schema: unknown): string | undefined {
  if (!isRecord(schema) || !isRecord(schema.properties)) return undefined;
  for (const [name, property] of Object.entries(schema.properties)) {
    if (isRecord(property) && property.type === "array" && isRecord(property.items) && property.items.type === "string") return name;
  }
  return undefined;
}

/** The one field of a tool's output, when it has exactly one. */
function onlyField(schema: unknown): string | undefined {
  if (!isRecord(schema) || !isRecord(schema.properties)) return undefined;
  const names = Object.keys(schema.properties);
  return names.length === 1 ? names[0] : undefined;
}

/** The listed tool that does `job`: it takes one text and its name and description hold two thirds of the job's words. */
function toolFor(job: string, tools: readonly ListedTool[]): { tool: ListedTool; input: string } | undefined {
  const wanted = contentWords(job);
  if (wanted.length === 0) return undefined;
  let best: { tool: ListedTool; input: string; score: number } | undefined;
  for (const tool of tools) {
    const input = textInput(tool.input_schema);
    if (input === undefined) continue;
    const has = new Set([...wordsOf(tool.name.replace(/_/g, " ")), ...wordsOf(tool.description)]);
    const score = wanted.filter((word) => has.has(word)).length / wanted.length;
    if (score >= 2 / 3 && (best === undefined || score > best.score)) best = { tool, input, score };
  }
  return best;
}

/** The listed tool that splits a text into lines: one text in, a list of strings out (one named for lines first). */
function splitterIn(tools: readonly ListedTool[]): { tool: ListedTool; input: string; list: string } | undefined {
  const fits = tools.flatMap((tool) => {
    const input = textInput(tool.input_schema);
    const list = listOfStrings(tool.output_schema);
    return input !== undefined && list !== undefined ? [{ tool, input, list }] : [];
  });
  return fits.find((fit) => /line|split/.test(fit.tool.name)) ?? fits[0];
}

const EACH_LINE =
  /\s*\b(?:(?:on|in|for|of)\s+)?(?:each|every)\s+line\b(?:\s+(?:of|in)\s+(?:a|the)\s+text\b)?|\s*\bper\s+line\b|\s*\bline\s+by\s+line\b/i;

/** A job of the goal: its words, and whether it is done on each line. */
type Job = { text: string; perLine: boolean };

/** The goal's jobs: the parts between ", and", ", then" and ";", each with "on each line" read off. */
function jobsOf(goal: string): Job[] {
  return goal
    .split(/\s*(?:,\s*(?:and\s+then|and|then)\s+|;\s*)/i)
    .map((part) => part.trim().replace(/[.!?]+$/, ""))
    .filter((part) => contentWords(part).length > 0)
    .map((part) => ({ text: part.replace(EACH_LINE, "").trim(), perLine: EACH_LINE.test(part) }));
}

/** A step id made of a job's words. */
function idOf(job: string, taken: Set<string>): string {
  const words = (job.toLowerCase().match(/[a-z]+/g) ?? []).filter((word) => !FILLER.has(stem(word)));
  const base = [...new Set(words)].join("_").slice(0, 40) || "step";
  let id = base;
  for (let n = 2; taken.has(id); n += 1) id = `${base}_${n}`;
  taken.add(id);
  return id;
}

/** The goal a missing job gives the toolsmith: one text in, as the job is done on a line or on the whole. */
const missingGoal = (job: string) => (/\btext\b/i.test(job) ? job : `${job} in a text`);

/**
 * The workflow the planner submits for `request`: a step per job a listed tool does, `missing` for the rest; the plan's
 * input is the text (named as the `--inputs` given name their one string, else `text`). Undefined when the goal holds
 * no job the planner can read.
 */
export function plannedWorkflow(request: PlanRequest): Record<string, unknown> | undefined {
  const jobs = jobsOf(request.goal);
  if (jobs.length === 0) return undefined;
  const given = Object.entries(request.inputs ?? {}).find(([, value]) => typeof value === "string")?.[0];
  const key = given ?? "text";
  const ids = new Set<string>();
  const steps: Record<string, unknown>[] = [];
  const missing: { id: string; goal: string }[] = [];
  const output: Record<string, string> = {};
  let split: { id: string; list: string } | undefined;
  for (const job of jobs) {
    const found = toolFor(job.text, request.tools);
    if (job.perLine && split === undefined) {
      const splitter = splitterIn(request.tools);
      if (splitter) {
        split = { id: idOf("split", ids), list: splitter.list };
        steps.push({ id: split.id, tool: splitter.tool.name, inputs: { [splitter.input]: `$inputs.${key}` } });
        output.lines = `$steps.${split.id}.output.${splitter.list}`;
      } else if (!missing.some((step) => step.id === "split_lines")) {
        ids.add("split_lines");
        missing.push({ id: "split_lines", goal: "split a text into its lines" });
      }
    }
    if (!found) {
      missing.push({ id: idOf(job.text, ids), goal: missingGoal(job.text) });
      continue;
    }
    const id = idOf(found.tool.name, ids);
    if (job.perLine && split) {
      steps.push({ id, tool: found.tool.name, foreach: `$steps.${split.id}.output.${split.list}`, inputs: { [found.input]: "$item" } });
      output[id] = `$steps.${id}.output`;
    } else if (!job.perLine) {
      steps.push({ id, tool: found.tool.name, inputs: { [found.input]: `$inputs.${key}` } });
      const field = onlyField(found.tool.output_schema);
      output[id] = field === undefined ? `$steps.${id}.output` : `$steps.${id}.output.${field}`;
    }
  }
  return {
    name: request.goal.slice(0, 100),
    description: `Planned by the scripted planner from ${request.tools.length} listed tool(s).`,
    inputs: { type: "object", properties: { [key]: { type: "string" } }, required: [key] },
    steps,
    output,
    ...(missing.length > 0 ? { missing } : {}),
  };
}
