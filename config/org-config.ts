import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { environmentSettings, environmentVariable } from "./environment.ts";
import type { GuardedSetting } from "./guarded-setting.ts";
import { gateConfigFile, type GuardContext } from "./guarded-settings.ts";
import { trustRecords } from "./trust-store.ts";
import { userOrgDir } from "./user-org-dir.ts";
import { type PersonaServerFields, personaServerUrl } from "../llm/persona-server.ts";
import { type NamedKey, type ServerKeys, serverKeys } from "../llm/server-keys.ts";
import { displayUrl, urlCredentials, urlOrigin } from "../llm/server-url.ts";
import { knownToolNames } from "./tool-names.ts";
import { ToolsmithSettings } from "./toolsmith-settings.ts";
import { GrowSettings } from "./grow-settings.ts";
import { ShareSettings } from "./share-settings.ts";
import { DEFAULT_SECRET_PATHS } from "./secret-paths.ts";
import { BackupSettings, SuperviseSettings } from "./supervise-settings.ts";
import { WorkflowSettings } from "./workflow-settings.ts";
import { CompactionSettings } from "./compaction-settings.ts";
import { ObserverSettings } from "./observer-settings.ts";
import { WebSettings } from "./web-settings.ts";
import { TelegramSettings } from "./telegram-settings.ts";
import { type ModelRoutes, routeServer } from "./model-routes.ts";
import { DEFAULT_MCP, type McpSettings, type McpServerConfig, mcpServerConfigs, mcpSecrets } from "./mcp-servers.ts";
import { CONFIG_FILE_NAME } from "./workspace-paths.ts";
import { DEFAULT_TOOLS, type PersonaColor, type PersonaEntry, type PersonaKind } from "./persona-entry.ts";
import { DEFAULT_LIMITS, type OrgLimits } from "./org-limits.ts";
import type { ScheduleSettings } from "./schedule-settings.ts";
import { DEFAULT_SERVE, type ServeSettings } from "./serve-settings.ts";
import { DEFAULT_NETWORK, type NetworkSettings } from "./network-settings.ts";
import { type BrowserSettings, DEFAULT_BROWSER } from "./browser-settings.ts";
import type { SandboxSettings } from "./sandbox-settings.ts";
import { egressRules } from "./egress-policy.ts";
import type { OrgConfigFile } from "./org-config-file.ts";
import { OrgConfigError } from "./org-config-error.ts";
import { parseOrgConfigText } from "./parse-org-config-text.ts";

/** A persona with the defaults filled in: its model, server, tools and context length are always set. */
export type PersonaConfig = Omit<PersonaEntry, keyof typeof PersonaServerFields> &
  Required<Pick<PersonaEntry, "model" | "tools" | "contextMessages">> & {
    /** The persona's model server, as org shows it (credentials kept apart, see `authorizations`). */
    server: string;
    /** Where `model` was set, named when the server does not have it. */
    modelSource?: string;
    /** The API org speaks to the server (`api` of the entry; `auto` when absent). */
    api?: PersonaEntry["api"];
  };

/** The room's configuration: the file over the defaults and the environment. */
export type OrgConfig = Required<Pick<OrgConfigFile, "servers" | "mode">> & {
  personas: PersonaConfig[];
  limits: OrgLimits;
  serve: ServeSettings;
  network: NetworkSettings;
  web: WebSettings;
  /** The browser tool's settings; `executable` is ORG_CHROMIUM when set. */
  browser: BrowserSettings;
  telegram: TelegramSettings;
  toolsmith: ToolsmithSettings;
  grow: GrowSettings;
  share: ShareSettings;
  supervise: SuperviseSettings;
  backup: BackupSettings;
  /** `schedules`: only those confirmed with `org config trust` (a workspace's file is gated). */
  schedules: ScheduleSettings;
  workflow: WorkflowSettings;
  /** The model router (`models`): routes by purpose and by tool, each a model id or a model on another server. */
  models: ModelRoutes;
  compaction: CompactionSettings;
  observer: ObserverSettings;
  sandbox: SandboxSettings;
  /** The MCP servers of `mcpServers`, in the file's order. */
  mcpServers: McpServerConfig[];
  mcp: McpSettings;
  /**
   * The Authorization header value per server origin (`llm/server-keys.ts`, the one key rule): credentials in the
   * server's URL, else the key its `apiKeyEnv` (a server's or a persona's) names, else OPENAI_API_KEY for
   * OLLAMA_BASE's origin only. No server gets another's. `modelFor` reads it.
   */
  authorizations: ServerKeys;
  /** Values to hide wherever they turn up: the API keys and credentials in server URLs. */
  secrets: string[];
  /**
   * The file's settings that send something out or lower a guard and wait for `org config trust` (`guarded-settings.ts`):
   * each is at its default here until the person confirms it.
   */
  unconfirmed: GuardedSetting[];
  /** The file the config came from; undefined when only defaults apply. */
  source?: string;
};

const DEFAULT_PERSONAS: { name: string; kind: PersonaKind; color: PersonaColor }[] = [
  { name: "agent", kind: "agent", color: "cyan" },
  { name: "python", kind: "python", color: "yellow" },
  { name: "toolsmith", kind: "toolsmith", color: "magenta" },
];

/** Where `loadOrgConfig` reads the file and its confirmations. */
export type ConfigPlace = {
  /** The workspace the file configures (default: the file's folder): confirmations are kept for its real path. */
  workspaceDir?: string;
  /** Org's checkout, whose promoted tools the file may name (default: the one running). */
  checkoutDir?: string;
  /** The user's org folder the confirmations are read from (default: `userOrgDir` of the process's environment with `env` over it). */
  orgHome?: string | undefined;
};

/**
 * Reads the room's configuration: `org.config.json` (at `path`, default the current directory) when it exists, over
 * defaults of three personas on OLLAMA_BASE / OLLAMA_MODEL. Throws OrgConfigError naming the line and key of anything
 * wrong. Tool names may be built-in ones or generated tools promoted into `tools/generated/` of `workspaceDir` (default:
 * the config file's directory) or of `checkoutDir` (default: org's checkout). This is the one gate of a workspace's
 * file: a setting that sends something out or lowers a guard is at its default until the person confirmed it for this
 * workspace with `org config trust` (`unconfirmed` lists those that wait); every command reads its config here.
 */
export function loadOrgConfig(path?: string, env: NodeJS.ProcessEnv = process.env, options: ConfigPlace = {}): OrgConfig {
  const file = path ?? join(process.cwd(), CONFIG_FILE_NAME);
  const settings = environmentSettings(env);
  const text = existsSync(file) ? readFileSync(file, "utf8") : undefined;
  if (text === undefined) return resolveOrgConfig({}, settings, undefined, env, []);
  const workspaceDir = options.workspaceDir ?? dirname(file);
  const parsed = parseOrgConfigText(text, file, knownToolNames(workspaceDir, options.checkoutDir));
  const home = "orgHome" in options ? options.orgHome : userOrgDir({ ...process.env, ...env });
  const confirmed = trustRecords(home, workspaceDir, "config");
  const gated = gateConfigFile(parsed, guardContext(env), (id) => confirmed.has(id));
  return resolveOrgConfig(gated.file, settings, file, env, gated.waiting);
}

/** What the environment decides beside a file: the server it names, and each kind of persona's default tools. */
export function guardContext(env: NodeJS.ProcessEnv = process.env): GuardContext {
  return { ollamaBase: environmentSettings(env).ollamaBase, defaultTools: DEFAULT_TOOLS };
}

/**
 * The keys the config's `apiKeyEnv`s name, each for its server: a `servers` entry's URL, the server a persona's entry names (or
 * OLLAMA_BASE when it has none). A variable that is not set, or two different keys for one server, is an error
 * naming the key to change.
 */
function namedServerKeys(
  file: OrgConfigFile,
  entries: readonly PersonaEntry[],
  ollamaBase: string,
  where: string,
  env: NodeJS.ProcessEnv,
): NamedKey[] {
  const named: (NamedKey & { variable: string; at: string })[] = [];
  const take = (server: string, variable: string, at: string) => {
    const key = environmentVariable(variable, env);
    if (key === undefined) {
      throw new OrgConfigError(
        `${where}, key ${at}: the environment variable ${variable} is not set. Export it with the key for that server, or remove apiKeyEnv.`,
        where,
        undefined,
        at,
      );
    }
    const other = named.find((entry) => urlOrigin(entry.server) === urlOrigin(server) && entry.key !== key);
    if (other) {
      throw new OrgConfigError(
        `${where}, key ${at}: ${variable} and ${other.variable} (${other.at}) hold two different keys for one ` +
          `server, ${displayUrl(urlOrigin(server))}. A server has one key: name the same variable in both, or remove one apiKeyEnv.`,
        where,
        undefined,
        at,
      );
    }
    named.push({ server, key, variable, at });
  };
  for (const [url, server] of Object.entries(file.servers ?? {}))
    if (server.apiKeyEnv !== undefined) take(url, server.apiKeyEnv, `servers["${displayUrl(url)}"].apiKeyEnv`);
  for (const [index, entry] of entries.entries())
    if (entry.apiKeyEnv !== undefined) take(personaServerUrl(entry) ?? ollamaBase, entry.apiKeyEnv, `personas[${index}].apiKeyEnv`);
  return named.map(({ server, key }) => ({ server, key }));
}

/**
 * The settings' defaults are parsed once a command: without zod's compiled fast path, which it builds on a schema's
 * first parse (~25 ms of a command's start for these seven, more than the parses themselves).
 */
const ONE_PARSE = { jitless: true };

/** The personas of the file (or the defaults) as the room runs them: the environment's model and server where unset. */
function personaConfigs(
  file: OrgConfigFile,
  entries: readonly PersonaEntry[],
  settings: ReturnType<typeof environmentSettings>,
  source: string | undefined,
): PersonaConfig[] {
  const serverApis = new Map(
    Object.entries(file.servers ?? {}).flatMap(([url, server]) => (server.api ? [[urlOrigin(url), server.api] as const] : [])),
  );
  return entries.map((full, index): PersonaConfig => {
    const api = full.api ?? serverApis.get(urlOrigin(personaServerUrl(full) ?? settings.ollamaBase));
    return {
      name: full.name,
      kind: full.kind,
      model: full.model ?? settings.ollamaModel,
      modelSource: full.model !== undefined ? `${source ?? CONFIG_FILE_NAME} (personas[${index}].model)` : settings.ollamaModelSource,
      // Credentials in the URL are kept apart (see `authorizations`): the URL org shows and stores has none.
      server: displayUrl(personaServerUrl(full) ?? settings.ollamaBase).replace(/\/+$/, ""),
      tools: { ...DEFAULT_TOOLS[full.kind], ...(full.tools ?? {}) },
      ...(full.instructions !== undefined ? { instructions: full.instructions } : {}),
      ...(full.color !== undefined ? { color: full.color } : {}),
      contextMessages: full.contextMessages ?? 60,
      ...(full.contextTokens !== undefined ? { contextTokens: full.contextTokens } : {}),
      ...(full.maxContextTokens !== undefined ? { maxContextTokens: full.maxContextTokens } : {}),
      ...(api !== undefined ? { api } : {}),
    };
  });
}

function resolveOrgConfig(
  file: OrgConfigFile,
  settings: ReturnType<typeof environmentSettings>,
  source: string | undefined,
  env: NodeJS.ProcessEnv,
  unconfirmed: GuardedSetting[],
): OrgConfig {
  const entries: PersonaEntry[] = file.personas ?? DEFAULT_PERSONAS;
  const personas = personaConfigs(file, entries, settings, source);
  const servers: OrgConfig["servers"] = {};
  for (const [url, server] of Object.entries(file.servers ?? {})) servers[displayUrl(url.replace(/\/+$/, ""))] = server;
  // A key goes only to the server it belongs to: OPENAI_API_KEY to OLLAMA_BASE, a named variable to its server,
  // credentials written into a URL to that URL's server.
  const named = namedServerKeys(file, entries, settings.ollamaBase, source ?? CONFIG_FILE_NAME, env);
  const routes = [...Object.values(file.models?.byPurpose ?? {}), ...Object.values(file.models?.byTool ?? {})];
  const routeUrls = routes.flatMap((route) => routeServer(route) ?? []);
  const urls = [settings.ollamaBase, ...entries.flatMap((entry) => personaServerUrl(entry) ?? []), ...Object.keys(file.servers ?? {}), ...routeUrls];
  const authorizations = serverKeys({ defaultServer: settings.ollamaBase, defaultKey: settings.apiKey, named, urls });
  const keys = [settings.apiKey, ...named.map((entry) => entry.key)];
  const mcpServers = mcpServerConfigs(file.mcpServers ?? {});
  const secrets = [...new Set([...keys.filter((key): key is string => !!key), ...urls.flatMap(urlCredentials), ...mcpSecrets(mcpServers, env)])];
  return {
    personas,
    servers,
    limits: { ...DEFAULT_LIMITS, ...(file.limits ?? {}) },
    mode: file.mode ?? "group",
    serve: { ...DEFAULT_SERVE, ...file.serve, tools: { ...file.serve?.tools }, jobs: { ...DEFAULT_SERVE.jobs, ...file.serve?.jobs } },
    network: {
      ...DEFAULT_NETWORK,
      ...file.network,
      allowedHosts: (file.network?.allowedHosts ?? []).map((host) => host.toLowerCase()),
      // ORG_PROFILE=prod: only the hosts listed, whatever the file says.
      defaultDeny: settings.profile === "prod" ? true : (file.network?.defaultDeny ?? true),
    },
    ...webAndBrowser(file, settings.chromium),
    telegram: file.telegram ?? TelegramSettings.parse({}, ONE_PARSE),
    toolsmith: file.toolsmith ?? ToolsmithSettings.parse({}, ONE_PARSE),
    grow: file.grow ?? GrowSettings.parse({}, ONE_PARSE),
    share: file.share ?? ShareSettings.parse({}, ONE_PARSE),
    supervise: file.supervise ?? SuperviseSettings.parse({}, ONE_PARSE),
    backup: file.backup ?? BackupSettings.parse({}, ONE_PARSE),
    schedules: file.schedules ?? {},
    workflow: file.workflow ?? WorkflowSettings.parse({}, ONE_PARSE),
    models: file.models ?? {},
    compaction: file.compaction ?? CompactionSettings.parse({}, ONE_PARSE),
    observer: file.observer ?? ObserverSettings.parse({}, ONE_PARSE),
    sandbox: {
      workspace: file.sandbox?.workspace ?? "read",
      protectedPaths: file.sandbox?.protectedPaths ?? [],
      secretPaths: file.sandbox?.secretPaths ?? DEFAULT_SECRET_PATHS,
      workspaceWrite: file.sandbox?.workspaceWrite ?? "ask",
      ...(file.sandbox?.egress ? { egress: egressRules(file.sandbox.egress) } : {}),
    },
    mcpServers,
    mcp: { ...DEFAULT_MCP, ...file.mcp },
    authorizations,
    secrets,
    unconfirmed,
    ...(source !== undefined ? { source } : {}),
  };
}

/** `web` and `browser` with their defaults: web_request's hosts in lower case, ORG_CHROMIUM over `browser.executable`. */
function webAndBrowser(file: OrgConfigFile, chromium: string | undefined): Pick<OrgConfig, "web" | "browser"> {
  return {
    web: { ...(file.web ?? WebSettings.parse({}, ONE_PARSE)), requestHosts: (file.web?.requestHosts ?? []).map((host) => host.toLowerCase()) },
    browser: { ...DEFAULT_BROWSER, ...file.browser, ...(chromium !== undefined ? { executable: chromium } : {}) },
  };
}

/** Concurrent requests the room sends to one model server. */
export function serverConcurrency(config: OrgConfig, server: string): number {
  return config.servers[displayUrl(server.replace(/\/+$/, ""))]?.concurrency ?? config.limits.concurrencyPerServer;
}
