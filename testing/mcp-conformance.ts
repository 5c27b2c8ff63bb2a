import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

// The official MCP conformance suite (@modelcontextprotocol/conformance, a devDependency), run under the bun that
// runs the tests (its code calls Node 22's fs.globSync, which bun has), against a server URL. Its GitHub client
// (@octokit/request, used by no server scenario) takes content-type 2, not 3, through package.json's overrides:
// content-type 3 asks for Node >= 22, and npm warned EBADENGINE on the Node the README asks for
// (testing/node-engines.test.ts).

/**
 * The server scenarios org cannot pass because they call the reference server's own fixtures: its `test_*` tools
 * and prompts and its `test://` resources, which no other server has. Each reason names the fixture.
 */
export const FIXTURE_SCENARIOS: Record<string, string> = {
  "completion-complete": "completes an argument of the reference server's prompt test_prompt_with_arguments",
  "tools-call-simple-text": "calls the reference server's tool test_simple_text",
  "tools-call-image": "calls the reference server's tool test_image_content",
  "tools-call-audio": "calls the reference server's tool test_audio_content",
  "tools-call-embedded-resource": "calls the reference server's tool test_embedded_resource",
  "tools-call-mixed-content": "calls the reference server's tool test_multiple_content_types",
  "tools-call-with-logging": "calls the reference server's tool test_tool_with_logging",
  "tools-call-error": "calls the reference server's tool test_error_handling",
  "tools-call-with-progress": "calls the reference server's tool test_tool_with_progress",
  "tools-call-sampling": "calls the reference server's tool test_sampling",
  "tools-call-elicitation": "calls the reference server's tool test_elicitation",
  "elicitation-sep1034-defaults": "calls the reference server's tool test_elicitation_sep1034_defaults",
  "elicitation-sep1330-enums": "calls the reference server's tool test_elicitation_sep1330_enums",
  "resources-read-text": "reads the reference server's resource test://static-text",
  "resources-read-binary": "reads the reference server's resource test://static-binary",
  "resources-templates-read": "reads the reference server's template resource test://template/123/data",
  "resources-subscribe": "subscribes to the reference server's resource test://watched-resource",
  "resources-unsubscribe": "unsubscribes from the reference server's resource test://watched-resource",
  "prompts-get-simple": "gets the reference server's prompt test_simple_prompt",
  "prompts-get-with-args": "gets the reference server's prompt test_prompt_with_arguments",
  "prompts-get-embedded-resource": "gets the reference server's prompt test_prompt_with_embedded_resource",
  "prompts-get-with-image": "gets the reference server's prompt test_prompt_with_image",
};

/** One scenario's outcome: its checks' statuses, and the messages of those that failed. */
export type ScenarioOutcome = { scenario: string; statuses: string[]; failures: string[] };

const SUITE = join(dirname(Bun.resolveSync("@modelcontextprotocol/conformance/package.json", import.meta.dir)), "dist", "index.js");

/** Runs the suite's server scenarios (all, or `scenario`) against `url`, at most `timeoutMs`; the outcome of each. */
export async function runConformance(url: string, options: { scenario?: string; timeoutMs?: number } = {}): Promise<ScenarioOutcome[]> {
  const outDir = mkdtempSync(join(tmpdir(), "org-mcp-conformance-"));
  try {
    const child = Bun.spawn(
      [process.execPath, SUITE, "server", "--url", url, "-o", outDir, ...(options.scenario ? ["--scenario", options.scenario] : [])],
      {
        stdout: "pipe",
        stderr: "pipe",
        env: { ...process.env, NO_COLOR: "1" },
      },
    );
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    clearTimeout(timer);
    const outcomes = readdirSync(outDir).map((folder) => {
      const checks = JSON.parse(readFileSync(join(outDir, folder, "checks.json"), "utf8")) as { status: string; errorMessage?: string }[];
      return {
        scenario: folder.replace(/^server-/, "").replace(/-\d{4}-\d{2}-\d{2}T.*$/, ""),
        statuses: checks.map((check) => check.status),
        failures: checks.filter((check) => check.status === "FAILURE").map((check) => check.errorMessage ?? "(no message)"),
      };
    });
    if (outcomes.length === 0) throw new Error(`the conformance suite wrote no results:\n${stdout}\n${stderr}`);
    return outcomes.sort((a, b) => a.scenario.localeCompare(b.scenario));
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

/**
 * What is wrong with a run: a scenario that needs no fixture and did not pass, a listed one missing, or a listed
 * one that failed for anything but the fixture its reason names (org answers -32602 for a tool or prompt it does
 * not have, -32002 for a resource). Empty when all is as it should be.
 */
export function conformanceProblems(outcomes: readonly ScenarioOutcome[]): string[] {
  const problems: string[] = [];
  for (const outcome of outcomes) {
    const reason = FIXTURE_SCENARIOS[outcome.scenario];
    if (reason === undefined) {
      if (outcome.failures.length > 0 || !outcome.statuses.includes("SUCCESS"))
        problems.push(`${outcome.scenario} did not pass: ${outcome.failures.join("; ")}`);
      continue;
    }
    const fixture = reason.split(" ").at(-1) ?? reason;
    if (outcome.failures.length === 0) problems.push(`${outcome.scenario} passed: take it off FIXTURE_SCENARIOS`);
    for (const failure of outcome.failures) {
      if (!/MCP error -32(002|602)/.test(failure) || !failure.includes(fixture))
        problems.push(`${outcome.scenario} failed for another reason than ${fixture}: ${failure}`);
    }
  }
  const ran = new Set(outcomes.map((outcome) => outcome.scenario));
  for (const scenario of Object.keys(FIXTURE_SCENARIOS)) if (!ran.has(scenario)) problems.push(`${scenario} did not run`);
  return problems;
}
