import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import { toolMetadataSchemas } from "../generated-tools/tool-metadata.ts";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { RecordingSandbox } from "../testing/recording-sandbox.ts";
import { WORD_COUNT } from "../testing/toolsmith-fixtures.ts";
import { validateTool } from "./validate-tool.ts";

const root = mkdtempSync(join(tmpdir(), "org-validate-policy-"));
chmodSync(root, 0o755); // the sandbox uid passes through it when org runs as root
afterAll(() => rmSync(root, { recursive: true, force: true }));

// Until issue 46 the stages ran under the default policy whatever org was assembled with: a bound of the
// config's, or its secrets, never reached them.
test("every stage of the validation runs under the policy org was assembled with: its secrets, and its bounds bind", async () => {
  const sandbox = new RecordingSandbox();
  // 32 MiB of address space per process: bun and the native compiler cannot start under it.
  const policy = sandboxPolicy({ secretValues: ["a-secret-of-the-config"], limits: { memoryBytes: 32 * 1024 * 1024 } });
  const spec = toolMetadataSchemas().ToolSpec.parse(WORD_COUNT.spec);
  const report = await validateTool({
    runDir: join(root, "tight"),
    spec,
    heldOut: spec.examples.slice(-1),
    toolCode: WORD_COUNT.tool,
    testCode: WORD_COUNT.tests,
    settings: ToolsmithSettings.parse({ testTimeoutMs: 10_000 }),
    sandbox,
    sandboxPolicy: policy,
  });
  expect(report.ok).toBe(false);
  expect(report.failure?.stage).toBe("typecheck");
  expect(sandbox.policies.length).toBeGreaterThan(0);
  for (const used of sandbox.policies) expect(used).toBe(policy);
}, 60_000);
