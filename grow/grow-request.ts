import { sandboxPolicyFrom } from "../assembly/sandbox-policy-from.ts";
import type { OrgConfig } from "../config/org-config.ts";
import { defaultGateOptions, gateThresholds } from "../fitness/gate-defaults.ts";
import type { CurrentInstance } from "../git/ref-change.ts";
import { toolsmithModel } from "../personas/persona-model.ts";
import { embedderFromEnvironment } from "../registry/ollama-embedder.ts";
import type { Sandbox } from "../sandbox/run-sandboxed.ts";
import type { GrowProgress, GrowRequest } from "./run-grow.ts";

/**
 * What a run is given by whoever starts it (`org grow`, `serve --grow-every`), with the sandbox of that process; the rest
 * comes from config and environment.
 */
export type GrowSetup = {
  sandbox: Sandbox;
  workspaceDir: string;
  repoDir: string;
  config: OrgConfig;
  dryRun: boolean;
  /** Limits given on the command line, over grow's settings. */
  maxTools?: number;
  budgetMinutes?: number;
  current?: CurrentInstance;
  command: string;
  onProgress?: (progress: GrowProgress) => void;
  signal: AbortSignal;
};

/**
 * A run's request as org starts one: the toolsmith's model (and the listener's, grow.model) and the embedder from the config and the environment,
 * the sandbox policy, the gate with its defaults and the thresholds of the grown repository's own org.config.json
 * (never the workspace's: the gate judges by the code it guards), the budget from grow's settings and the flags.
 */
export function growRequest(setup: GrowSetup): GrowRequest {
  const { config, repoDir } = setup;
  const settings = config.grow;
  const gateSettings = gateThresholds(repoDir);
  const embedder = embedderFromEnvironment();
  const model = toolsmithModel(config);
  return {
    workspaceDir: setup.workspaceDir,
    repoDir,
    config,
    settings,
    toolsmithSettings: config.toolsmith,
    gateSettings,
    gateOptions: defaultGateOptions(repoDir),
    model,
    // grow.model on the toolsmith's server, else the toolsmith's own model, hears the needs and judges them.
    listener: settings.model ? model.withModelId(settings.model, "grow.model") : model,
    ...(embedder ? { embedder } : {}),
    sandbox: setup.sandbox,
    sandboxPolicy: sandboxPolicyFrom({ config }),
    limits: {
      budgetMs: (setup.budgetMinutes ?? settings.budgetMinutes) * 60_000,
      maxTokens: settings.maxTokens,
      maxTools: setup.maxTools ?? settings.maxTools,
    },
    dryRun: setup.dryRun,
    ...(setup.current ? { current: setup.current } : {}),
    command: setup.command,
    ...(setup.onProgress ? { onProgress: setup.onProgress } : {}),
    signal: setup.signal,
  };
}
