import type { OrgConfig } from "../config/org-config.ts";
import { CONFIG_FILE_NAME } from "../config/workspace-paths.ts";
import { createPersona } from "../personas/create-persona.ts";
import type { Persona } from "../personas/persona.ts";
import { httpModels } from "../personas/persona-model.ts";
import type { RoomMessage } from "../personas/room-message.ts";
import type { PromptSummary } from "../personas/prompt-assembly.ts";
import { TokenEstimator } from "../llm/token-estimate.ts";
import { Budget } from "../security/budget.ts";
import { tokensOnDay } from "./tokens-used.ts";
import { serversExecutedPaths } from "../mcp-client/servers-executed-paths.ts";
import { checkChangeSet, type ExecutedPath } from "../workspace/check-change-set.ts";
import type { NamedSecret } from "../security/named-secret.ts";
import { roomSecrets } from "../workspace/secret-values.ts";
import { changeRules } from "./change-rules.ts";
import { startSession } from "./open-session.ts";
import type { ReplyFileGuard, RoomMode } from "./room-mode.ts";
import type { RoomOptions } from "./room-options.ts";

/** What the parts of a room share: its personas and where it keeps things, and the state that changes. */
export type RoomCore = {
  /** The diff of the newest workspace change a command made here, for `/diff`. */
  lastDiff?: string;
  options: RoomOptions;
  config: OrgConfig;
  workspaceDir: string;
  protectedFiles: string[];
  /** What else file mode refuses: what a workspace change may not touch. */
  replyFileGuard: ReplyFileGuard;
  /** What a workspace change (or its undo) may not touch: protected and secret paths, sizes. */
  changeRules: ReturnType<typeof changeRules>;
  models: Persona[];
  names: string[];
  byName: Map<string, Persona>;
  budget: Budget;
  /** What web_request and web_fetch never send: the config's keys and the secret files' keys, named (`NamedSecret`). */
  outboundSecrets: readonly (string | NamedSecret)[];
  sessionId: string;
  /** Each persona's summary of its heard messages that fell out of its window (`compactions.ts`). */
  state: { mode: RoomMode; history: RoomMessage[]; summaries: Map<string, PromptSummary> };
  /** The room's token estimate, calibrated per model by what its completions report. */
  estimator: TokenEstimator;
  /** Said once the room is open: a resumed session whose transcript had lines that could not be used. */
  damagedNotice?: string;
  /** The promoted generated tools offered now, by name. */
  generated: Set<string>;
  /** The tools of `toolFeed` offered now, by name, and the personas whose policy for each the feed set. */
  fed: Map<string, Set<Persona>>;
};

/**
 * File mode's guard: a reply appended to a file is a change to the workspace the model chose, so it may not go where a
 * change may not (a protected or secret path, a file an unsandboxed MCP server runs from or may load).
 */
function replyFileGuardOf(rules: ReturnType<typeof changeRules>, executedPaths: ExecutedPath[]): ReplyFileGuard {
  return (path) => {
    const change = { path, status: "added" as const, after: { type: "file" as const, mode: 0o644, size: 1, content: new Uint8Array([10]) } };
    const check = checkChangeSet({ changes: [change] }, { protectedPaths: rules.protectedPaths, secretPaths: rules.secretPaths, executedPaths });
    return check.ok ? undefined : `replies may not be written to "${path}": ${check.message}`;
  };
}

/** The personas, their models and the session (new or resumed) a room starts from. */
export function roomCore(options: RoomOptions, sessionsDir: string): RoomCore {
  const { config, workspaceDir } = options;
  // Replies in file mode never go over org's config file (the default name, and the file actually read).
  const protectedFiles = [CONFIG_FILE_NAME, ...(config.source ? [config.source] : [])];
  const languageModel = options.models ?? httpModels(config);
  const models: Persona[] = config.personas.map((persona) =>
    createPersona(persona, languageModel(persona), options.toolsmithJob ? { toolsmithJob: options.toolsmithJob } : {}),
  );
  const byName = new Map(models.map((model) => [model.name, model]));
  const rules = changeRules(config, workspaceDir, options.sandboxPolicy.secretPaths);
  const replyFileGuard = replyFileGuardOf(rules, serversExecutedPaths(config.mcpServers, workspaceDir));
  // One budget for the session's tokens; each reply counts its own tool rounds against it (Budget.startTurn).
  // limits.tokensPerDay counts every session of the workspace, this one's transcript among them.
  const perDay = config.limits.tokensPerDay;
  const budget = new Budget({
    maxSessionTokens: config.limits.sessionTokens,
    ...(perDay !== undefined ? { daily: { limit: perDay, usedToday: () => tokensOnDay(sessionsDir, new Date()) } } : {}),
  });
  const start = startSession({
    config,
    workspaceDir,
    sessionsDir,
    protectedFiles,
    replyFileGuard,
    byName,
    budget,
    ...(options.resume !== undefined ? { resume: options.resume } : {}),
    ...(options.history ? { history: options.history } : {}),
  });
  // What the workspace's secret files and git configs hold joins the room's secrets (`roomSecrets`).
  const secrets = roomSecrets(config.secrets, workspaceDir, options.sandboxPolicy.secretPaths, options.workspaceCopies);
  const core = {
    options,
    config: { ...config, secrets: secrets.redacted },
    workspaceDir,
    protectedFiles,
    replyFileGuard,
    changeRules: rules,
    models,
    names: models.map((model) => model.name),
    byName,
    budget,
    outboundSecrets: secrets.outbound,
  };
  return {
    ...core,
    sessionId: start.sessionId,
    state: { mode: start.mode, history: start.history, summaries: new Map(Object.entries(start.summaries)) },
    estimator: new TokenEstimator(),
    ...(start.damagedNotice ? { damagedNotice: start.damagedNotice } : {}),
    generated: new Set(options.generated ?? []),
    fed: new Map(),
  };
}
