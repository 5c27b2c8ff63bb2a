import { lstatSync } from "node:fs";
import { join } from "node:path";
import { USAGE_DIR } from "../config/workspace-paths.ts";
import { growPause } from "../grow/grow-pause.ts";
import { growLockHolder } from "../grow/grow-lock.ts";
import { toolHealthNow } from "../grow/tool-health-now.ts";
import type { Check, CheckResult, Fix, SuperviseContext } from "./supervise-check.ts";

/** The tool grow's judgement would roll back now, with its figures; undefined when every promoted tool holds. */
async function failingTool(context: SuperviseContext): Promise<{ tool: string; detail: string } | undefined> {
  if (!lstatSync(join(context.repoDir, USAGE_DIR), { throwIfNoEntry: false })) return undefined;
  const health = await toolHealthNow({
    repoDir: context.repoDir,
    settings: context.config.grow,
    now: new Date(context.now()),
    signal: context.signal,
  });
  if (!health.rollback) return undefined;
  const { tool, evidence } = health.rollback;
  return { tool, detail: `${tool} is failing by grow's judgement (${evidence.reasons.join(", ")}): ${evidence.summary}` };
}

/** Pattern 9: a promoted tool whose health fails while no grow run acts on it is reported and handed to the next run. */
async function runToolHealthCheck(context: SuperviseContext): Promise<CheckResult> {
  const failing = await failingTool(context);
  if (!failing) return { state: "ok", detail: "every promoted tool holds by its calls (grow.window, grow.maxFailureRate)", findings: [] };
  const running = growLockHolder(context.workspaceDir) ?? growLockHolder(context.repoDir);
  if (running)
    return { state: "warn", detail: `${failing.detail}; org grow (pid ${running.pid}) runs now and acts on it`, findings: [], undecided: true };
  const paused = growPause(context.workspaceDir);
  return {
    state: "fail",
    detail: failing.detail,
    findings: [
      {
        key: failing.tool,
        title: `promoted tool ${failing.tool} failing`,
        detail: `${failing.detail}${paused ? `; grow runs are paused (${paused.reason})` : ""}`,
        fix: {
          action: "hand-to-grow",
          target: failing.tool,
          detail: "the next org grow run rolls it back and files a rebuild proposal from its failing inputs",
        },
      },
    ],
  };
}

/** `hand-to-grow`: the failing tool is left to the next grow run, which rolls it back; verified once its judgement holds again. */
export const handToGrow: Fix = {
  target: "the name of a promoted tool failing by grow's judgement: leave it to the next grow run",
  refuse: async (target, context) =>
    (await failingTool(context))?.tool === target ? undefined : `${JSON.stringify(target.slice(0, 80))} is not the tool grow's judgement names now`,
  async apply(target) {
    return {
      ok: true,
      detail: `handed ${target} to the next org grow run (it rolls the tool back through the promotion journal and files a rebuild proposal)`,
      verify: "later",
    };
  },
};

export const toolHealthCheck: Check = { name: "tool-health", run: runToolHealthCheck, fixes: { "hand-to-grow": handToGrow } };
