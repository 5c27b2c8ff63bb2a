import { sandboxPolicyFrom } from "../assembly/sandbox-policy-from.ts";
import type { GrowSettings } from "../config/grow-settings.ts";
import type { OrgConfig } from "../config/org-config.ts";
import type { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import type { BuildProgress } from "../cycle/build-and-promote.ts";
import type { GateOptions } from "../cycle/promote-candidate.ts";
import { defaultGateOptions, gateThresholds } from "../fitness/gate-defaults.ts";
import type { CurrentInstance } from "../cycle/ref-change.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import { toolsmithModel } from "../personas/persona-model.ts";
import { purposeModel } from "../personas/model-router.ts";
import { type Embedder, embedderFromEnvironment } from "../registry/ollama-embedder.ts";
import type { Sandbox, SandboxAccess } from "../sandbox/run-sandboxed.ts";
import type { GrowLimits } from "./grow-budget.ts";
import type { ShareHome } from "../share/share-home.ts";
import { userOrgDir } from "../config/user-org-dir.ts";

/** What a run is asked to do, and with what; its builds run in `sandbox` under `sandboxPolicy`. */
export type GrowRequest = SandboxAccess & {
  /** Where the sessions, the audit log and serve's jobs are read, and `.org/grow/` is kept. */
  workspaceDir: string;
  /** The repository whose main grows: built from, judged, promoted into, and whose tools' health is judged. */
  repoDir: string;
  /** The room's config (the in-process instances' personas); `settings` is its `grow`. */
  config: OrgConfig;
  settings: GrowSettings;
  /** The toolsmith's thresholds for the builds, and the gate's (from the repository's own config). */
  toolsmithSettings: ToolsmithSettings;
  gateSettings: ToolsmithSettings;
  /** The gate's other options, apart from the settings and the repository. */
  gateOptions: Omit<GateOptions, "settings" | "git" | "sandbox" | "sandboxPolicy">;
  /** The toolsmith's model. */
  model: LanguageModel;
  /** The model that hears needs and judges whether two are one (grow.model, else the toolsmith's); absent: the word rules alone. */
  listener?: LanguageModel;
  embedder?: Embedder;
  /** The person's org folder: with a share remote set there, the team's offers a pull verified cover needs too. */
  shareHome?: ShareHome;
  limits: GrowLimits;
  dryRun: boolean;
  /** Current, restarted after a promotion or rollback; absent: not restarted (`--no-restart`, or serve, which follows main itself). */
  current?: CurrentInstance;
  /** Says what the lock holds (`org grow --once`, `serve --grow-every 1h`). */
  command: string;
  onProgress?: (progress: GrowProgress) => void;
  signal: AbortSignal;
  now?: () => Date;
};

/** What a run says while it works: a line of its own, or a build's progress. */
export type GrowProgress = { type: "line"; text: string } | { type: "build"; proposal: string; progress: BuildProgress };

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
  const home = userOrgDir();
  return {
    workspaceDir: setup.workspaceDir,
    repoDir,
    config,
    settings,
    toolsmithSettings: config.toolsmith,
    gateSettings,
    gateOptions: defaultGateOptions(repoDir),
    model,
    // models.byPurpose["grow.listener"], else grow.model on the toolsmith's server, else the toolsmith's own model, hears the needs.
    listener: purposeModel(config, "grow.listener", settings.model ? model.withModelId(settings.model, "grow.model") : model),
    ...(embedder ? { embedder } : {}),
    ...(home ? { shareHome: { dir: home } } : {}),
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
