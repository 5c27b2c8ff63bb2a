// docs/tools.md in org's clone, as its sessions run: the scripted toolsmith on a port of its own, `tool new` from the
// clone and from a project, the candidate listed, run and shown, the toolsmith asked from the room; then `tool search`
// over a repository of five promoted tools with and without embeddings, and `tool stats` of a tool's calls.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ToolSpec } from "../../generated-tools/tool-metadata.ts";
import { recordToolCall } from "../../usage/tool-calls.ts";
import type { Walk, WalkContext } from "../doc-walk.ts";
import { freePort } from "../free-port.ts";
import { simpleSpec, wordCountSpec, writeGeneratedTool, WORD_COUNT_CODE, WORD_COUNT_TESTS } from "../generated-tool-fixture.ts";
import { gitSync } from "../temp-git-repo.ts";
import { CLAMP } from "../toolsmith-fixtures.ts";

const DOC = "docs/tools.md";
const toolsRepo = (context: WalkContext) => join(context.clone, "tools-repo");

/** The page's repository of promoted tools: four a search tells apart by their words, and clamp_number, whose calls are counted. */
function makeToolsRepo(context: WalkContext): void {
  const dir = toolsRepo(context);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  gitSync(dir, ["init", "--quiet", "--initial-branch=main"]);
  writeGeneratedTool(dir, wordCountSpec("word_count", "Counts the words in a text, splitting on whitespace."), WORD_COUNT_CODE, WORD_COUNT_TESTS);
  writeGeneratedTool(dir, simpleSpec("reverse_text", "Reverses a string character by character."));
  writeGeneratedTool(dir, simpleSpec("line_count", "Counts the lines of a text.", "text", "lines"));
  writeGeneratedTool(dir, simpleSpec("char_count", "Counts the characters of a string, spaces included.", "text", "chars"));
  writeGeneratedTool(dir, CLAMP.spec as unknown as ToolSpec, CLAMP.tool, CLAMP.tests);
  gitSync(dir, ["add", "-A"]);
  gitSync(dir, ["commit", "--quiet", "-m", "five promoted tools"]);
}

/** clamp_number's thirty calls as the page tells them: ten good, ten its input schema refused, ten that failed. */
function clampCalls(context: WalkContext): void {
  const at = Date.now() - 60_000;
  for (let index = 0; index < 30; index += 1) {
    const kind = index % 3;
    recordToolCall(toolsRepo(context), {
      tool: "clamp_number",
      ok: kind === 0,
      ...(kind === 1 ? { reason: "input" as const, input: { nottext: 0 }, error: "the input does not match the tool's input schema" } : {}),
      ...(kind === 2 ? { reason: "tool" as const, input: { value: 9, min: 9, max: 1 }, error: "the tool threw: min exceeds max" } : {}),
      durationMs: 500 + index * 10,
      time: at + index * 1_000,
    });
  }
}

export const toolsWalk: Walk = {
  name: "tools",
  setup: (context) => {
    // The page's session sets OLLAMA_BASE alone: the toolsmith's model is the default, qwen3:8b.
    delete context.env.OLLAMA_MODEL;
    context.cwd = context.clone;
    mkdirSync(join(context.home, "project"), { mode: 0o755 });
    makeToolsRepo(context);
  },
  steps: [
    {
      doc: DOC,
      command: "org scripted-server --script demo/toolsmith-script.json --port 11500 &",
      run: { command: "org scripted-server --script demo/toolsmith-script.json --port PORT &", why: "port 11500 may be taken where the tests run" },
      before: (context) => {
        context.aliases.set("PORT", String(freePort()));
      },
      ready: /listening on (http:\/\/\S+) \(\d+ rules; models: qwen3:8b, scripted\)/,
      after: (output, context) => {
        context.aliases.set("http://127.0.0.1:11500", /listening on (http:\/\/\S+) /.exec(output)?.[1] ?? "");
      },
    },
    { doc: DOC, command: "export OLLAMA_BASE=http://127.0.0.1:11500" },
    {
      doc: DOC,
      command: 'org tool new --goal "count the words in a text"',
      says: [
        /✓ spec: word_count: 3 examples/,
        /✓ validation passed in [\d.]+ s/,
        /word_count is on cand\/\S+\. Try it: org tool run word_count --ref cand\/\S+ --inputs '\{"text":"one two three"\}'/,
      ],
      after: (output, context) => {
        context.aliases.set("cand/20261123T133145Z", /✓ branch (cand\/\S+)/.exec(output)?.[1] ?? "");
      },
    },
    {
      doc: DOC,
      command: "org tool list",
      says: [/^word_count\s+candidate cand\/\S+\s+Counts the words of a text: runs of non-space characters\.$/m],
    },
    {
      doc: DOC,
      command: `org tool run word_count --ref cand/20261123T133145Z --inputs '{"text":"the quick brown fox"}'`,
      says: [/^\{"words":4\}$/m],
    },
    {
      doc: DOC,
      command: "org tool show word_count --ref cand/20261123T133145Z | sed -n 5,7p",
      says: [
        /^validation: policy \d+ ms, typecheck \d+ ms, tests \d+ ms, mutants \d+ ms, examples \d+ ms, determinism \d+ ms$/m,
        /^tests 3 passed, line coverage 100 %/m,
        /^made by qwen3:8b at http:\/\/127\.0\.0\.1:\d+ in 3 model calls, 0 repair round\(s\)$/m,
      ],
    },
    {
      doc: DOC,
      command: 'cd ~/project && org tool new --goal "add up a list of numbers"',
      says: [
        /note: sum_numbers's branch cand\/\S+ went to org's own clone \S+, not to \S+\/project where you ran this/,
        /sum_numbers is on cand\/\S+\. Try it:/,
      ],
    },
    {
      doc: DOC,
      command: 'org chat --workspace ws --once "@toolsmith please build a tool that slugifies a title for a URL"',
      before: (context) => {
        mkdirSync(join(context.clone, "ws"), { mode: 0o755 });
      },
      says: [
        /toolsmith │ ✓ spec: done · slugify: 3 examples/,
        /toolsmith │ ✓ branch: done · cand\/\S+/,
        /toolsmith │ slugify is ready on branch cand\/\S+; it is offered to the room once the fitness gate promotes it\./,
      ],
    },
    {
      doc: DOC,
      command: 'org tool search "how many words are in this text?" --repo tools-repo --limit 3',
      before: (context) => {
        // No embedding server, as the page's first search had.
        context.env.ORG_EMBED_BASE = `http://127.0.0.1:${freePort()}`;
      },
      says: [
        /^searched 5 promoted and 0 candidate tools with full-text \(BM25\) only: no embedding server at http:\/\/127\.0\.0\.1:\d+/m,
        /^ 1\. word_count +100% +promoted +Counts the words in a text, splitting on whitespace\.$/m,
      ],
    },
    {
      doc: DOC,
      command: "org scripted-server --script embed-script.json --port 0 &",
      before: (context) => {
        writeFileSync(join(context.clone, "embed-script.json"), `${JSON.stringify({ models: ["qwen3:8b", "nomic-embed-text"], rules: [] })}\n`);
      },
      ready: /listening on (http:\/\/\S+) \(0 rules; models: qwen3:8b, nomic-embed-text\)/,
      after: (output, context) => {
        context.aliases.set("http://127.0.0.1:39465", /listening on (http:\/\/\S+) /.exec(output)?.[1] ?? "");
      },
    },
    { doc: DOC, command: "export ORG_EMBED_BASE=http://127.0.0.1:39465" },
    {
      doc: DOC,
      command: 'org tool search "wordcount" --repo tools-repo --limit 3',
      says: [
        /with full-text \(BM25\) \+ embeddings \(nomic-embed-text at http:\/\/127\.0\.0\.1:\d+\), fused by reciprocal rank/,
        /^ 1\. word_count +100% +promoted/m,
      ],
    },
    {
      doc: DOC,
      command: 'org tool search "how many lines" --repo tools-repo --limit 2 --json',
      says: [
        new RegExp(
          String.raw`^\{"method":"fts\+embeddings","results":\[\{"name":"line_count","description":"Counts the lines of a text\.","` +
            String.raw`origin":"promoted","score":[\d.]+,"relevance":1\}`,
          "m",
        ),
      ],
    },
    {
      doc: DOC,
      command: "org tool stats clamp_number --repo tools-repo",
      before: clampCalls,
      says: [/^clamp_number +30 +10 +10 +10 +0 +50\.0 % +50\.0 %/m, /^ +failed: tool 10$/m],
    },
  ],
};
