import { z } from "zod";
import { ModelApi } from "../llm/discover-window.ts";
import { ApiKeyEnvName } from "../llm/persona-server.ts";
import { BrowserEntry } from "./browser-settings.ts";
import { CompactionSettings } from "./compaction-settings.ts";
import { ObserverSettings } from "./observer-settings.ts";
import { GrowSettings } from "./grow-settings.ts";
import { ShareSettings } from "./share-settings.ts";
import { McpServerEntry, McpSettings } from "./mcp-servers.ts";
import { ModelRoutes } from "./model-routes.ts";
import { NetworkEntry } from "./network-settings.ts";
import { OrgLimits } from "./org-limits.ts";
import { PersonaEntry } from "./persona-entry.ts";
import { SandboxEntry } from "./sandbox-settings.ts";
import { ServeEntry } from "./serve-settings.ts";
import { ScheduleSettings } from "./schedule-settings.ts";
import { BackupSettings, SuperviseSettings } from "./supervise-settings.ts";
import { TelegramSettings } from "./telegram-settings.ts";
import { ToolsmithSettings } from "./toolsmith-settings.ts";
import { WebSettings } from "./web-settings.ts";
import { WorkflowSettings } from "./workflow-settings.ts";

/** One model server's settings, keyed by its URL. */
export const ServerEntry = z.strictObject({
  concurrency: z.int().min(1).max(64).optional(),
  /** The environment variable holding this server's API key (sent as a Bearer token to it and nowhere else). */
  apiKeyEnv: ApiKeyEnvName.optional(),
  /** The API org speaks to this server, for every persona on it that names none (`anthropic`: Anthropic's Messages API). */
  api: ModelApi.optional(),
});
export type ServerEntry = z.infer<typeof ServerEntry>;

/** `org.config.json`: every key optional; the defaults and the environment fill in the rest. */
export const OrgConfigFile = z.strictObject({
  $schema: z.string().optional(),
  personas: z.array(PersonaEntry).min(1).optional(),
  servers: z.record(z.url({ protocol: /^https?$/ }), ServerEntry).optional(),
  /** The model router: `byPurpose` (org's own calls) and `byTool` (the reply after a tool's result); config/model-routes.ts. */
  models: ModelRoutes.optional(),
  limits: OrgLimits.partial().optional(),
  /** The mode a new session starts in. */
  mode: z.string().optional(),
  serve: ServeEntry.optional(),
  /** What web_fetch may reach, and its limits. */
  network: NetworkEntry.optional(),
  /** Where web_request may send without asking, and its limits. */
  web: WebSettings.optional(),
  /** The agent's browser: which Chromium, its rate and time bounds (docs/browser.md). */
  browser: BrowserEntry.optional(),
  /** `org telegram`: the Bot API's base URL and the chats the bot serves. */
  telegram: TelegramSettings.optional(),
  /** The toolsmith's thresholds and rounds; a key left out keeps its default. */
  toolsmith: ToolsmithSettings.optional(),
  /** `org grow`: windows a promoted tool is judged over, its failure bound, when an unused one is proposed for removal. */
  grow: GrowSettings.optional(),
  /** `org share pull`: whether an offer this machine's gate passed is promoted without a person (docs/share.md). */
  share: ShareSettings.optional(),
  /** `org supervise`: how often it checks, its bounds, which fixes apply without a person, its webhook. */
  supervise: SuperviseSettings.optional(),
  /** Prompts and workflows run on a cron schedule by the supervisor's heartbeat (`org schedule`, docs/schedules.md). */
  schedules: ScheduleSettings.optional(),
  /** `org backup`: where backups go and how many are kept. */
  backup: BackupSettings.optional(),
  /** `org workflow plan` and `plan_workflow`: the planner's model, repair rounds and step bound. */
  workflow: WorkflowSettings.optional(),
  /** How a persona's prompt keeps to its model's window: the reply's reserve, summaries of what falls out, their model. */
  compaction: CompactionSettings.optional(),
  /** The observer: what it does with the facts it proposes about the person, when a session is quiet, the profile's size. */
  observer: ObserverSettings.optional(),
  sandbox: SandboxEntry.optional(),
  /** MCP servers whose tools join the room as `<server>__<tool>` (config/mcp-servers.ts). */
  mcpServers: z.record(z.string(), McpServerEntry).optional(),
  /** How long a call to an MCP server's tool, and its start, may take. */
  mcp: McpSettings.optional(),
});
export type OrgConfigFile = z.infer<typeof OrgConfigFile>;
