import { formatDuration } from "./duration.ts";
import { ModelPurpose, routeServer } from "./model-routes.ts";
import { displayUrl, urlOrigin } from "../llm/server-url.ts";
import { SERVER_URL_KEY } from "../llm/persona-server.ts";
import type { OrgConfigFile } from "./org-config-file.ts";
import type { PersonaKind } from "./persona-entry.ts";
import { DEFAULT_SECRET_PATHS } from "./secret-paths.ts";
import { EGRESS_PRESETS, egressReachesOut } from "./egress-policy.ts";
import { DEFAULT_AUTO_FIX } from "./supervise-settings.ts";
import { GrowSettings } from "./grow-settings.ts";
import { TELEGRAM_API_BASE } from "./telegram-settings.ts";
import type { ToolPolicy } from "./tool-policy.ts";
import { type Guarded, type GuardedSetting, guarded } from "./guarded-setting.ts";
import { limitSettings } from "./guarded-limits.ts";

// A workspace's org.config.json is written by whoever wrote the repository. Each setting in it that sends something
// out of the machine or lowers one of org's guards is "guarded": it takes effect only once the person confirmed it
// (`org config trust`), bound to its value; until then org runs with that setting's default. A setting that only adds
// protection (a narrower view, more protected or secret paths, "deny") needs nothing. The list, one entry per kind:
// - a persona's server other than the one the environment names (OLLAMA_BASE): the conversation goes there;
// - `apiKeyEnv` (a persona's or a server's): a key of the environment sent to a server;
// - a tool policy set to "allow" where the default asks or denies (a persona's tools, serve's, an MCP server's);
// - `sandbox.workspace: "write"`, `sandbox.workspaceWrite: "allow"`, `sandbox.secretPaths` without every default;
// - `sandbox.egress` that lets anything out (hosts or presets allowed, or `unlisted: "ask"`);
// - `network.allowedHosts` (web_fetch reaches them) and `network.defaultDeny: false`;
// - a route of `models.byPurpose` or `models.byTool` to another server: those calls go there;
// - `web.requestHosts` (web_request sends there unasked), `telegram.apiBase` (the bot's token goes there),
//   `telegram.transcribe` (voice notes go there) and `telegram.allowedChats` (those chats drive the room);
// - `supervise.webhook` (incidents sent there), `supervise.autoFix` beyond the default fixes;
// - `grow.autoPromote`, `share.autoPromote`, `share.pullEvery`, `grow.confirmSessions` below its default; `backup.dir`
//   (the backups go there);
// - `observer.promote: "auto"` (what a model says about the person goes into every persona's prompt unasked);
// - a bar or a bound set laxer than its default (`guarded-limits.ts`): the toolsmith's `coverage` and `mutationScore`
//   lower, `grow.maxFailureRate` higher, `network.perMinute` and `web.perMinute` higher. Stricter ones need nothing.
// - each of `schedules` (a message sent to a model, or a workflow run, with nobody there, on its clock);
// - `supervise.idleWork` (tools, workflows and a model's proposals run with nobody there, once the room is idle).
// The MCP servers of `mcpServers` are confirmed by their launch (`mcp-client/mcp-trust.ts`), the same way.

/** What the person's environment decides beside the file: the server it names, each kind's default tools. */
export type GuardContext = { ollamaBase: string; defaultTools: Readonly<Record<PersonaKind, Readonly<Record<string, ToolPolicy>>>> };

const ASKS = "until you confirm it, it asks first";
const list = (items: readonly string[]) => items.map((item) => JSON.stringify(item)).join(", ");

function personaSettings(file: OrgConfigFile, context: GuardContext): Guarded[] {
  const found: Guarded[] = [];
  for (const persona of file.personas ?? []) {
    const at = (key: string) => `personas[${persona.name}].${key}`;
    const find = (entry: OrgConfigFile) => entry.personas?.find((candidate) => candidate.name === persona.name);
    const url = persona[SERVER_URL_KEY];
    const elsewhere = url !== undefined && urlOrigin(url) !== urlOrigin(context.ollamaBase);
    if (elsewhere) {
      found.push(
        guarded(
          at(SERVER_URL_KEY),
          url,
          displayUrl(url),
          `${persona.name}'s conversation, and the files it quotes, go to this server, not OLLAMA_BASE's; ` +
            `until you confirm it, ${persona.name} talks to OLLAMA_BASE`,
          (entry) => {
            const target = find(entry);
            // The key named for that server goes with it: it never follows the persona to another server.
            if (!target) return;
            delete target[SERVER_URL_KEY];
            delete target.apiKeyEnv;
          },
        ),
      );
    }
    if (persona.apiKeyEnv !== undefined) {
      const server = url === undefined ? "OLLAMA_BASE" : displayUrl(url);
      found.push(
        guarded(
          at("apiKeyEnv"),
          { variable: persona.apiKeyEnv, server: url ?? null },
          `${persona.apiKeyEnv} → ${server}`,
          `the value of ${persona.apiKeyEnv} goes to ${server} as its key; until you confirm it, no key is sent`,
          (entry) => {
            const target = find(entry);
            if (target) delete target.apiKeyEnv;
          },
        ),
      );
    }
    const defaults = context.defaultTools[persona.kind];
    for (const [tool, policy] of Object.entries(persona.tools ?? {})) {
      if (policy !== "allow" || defaults[tool] === "allow") continue;
      found.push(
        guarded(at(`tools.${tool}`), policy, "allow", `${persona.name} runs ${tool} without asking you; ${ASKS}`, (entry) => {
          const tools = find(entry)?.tools;
          if (tools) tools[tool] = "ask";
        }),
      );
    }
  }
  return found;
}

function serverSettings(file: OrgConfigFile): Guarded[] {
  return Object.entries(file.servers ?? {}).flatMap(([url, server]) =>
    server.apiKeyEnv === undefined
      ? []
      : [
          guarded(
            `servers[${JSON.stringify(displayUrl(url))}].apiKeyEnv`,
            { variable: server.apiKeyEnv, server: url },
            `${server.apiKeyEnv} → ${displayUrl(url)}`,
            `the value of ${server.apiKeyEnv} goes to ${displayUrl(url)} as its key; until you confirm it, no key is sent`,
            (entry) => {
              const target = entry.servers?.[url];
              if (target) delete target.apiKeyEnv;
            },
          ),
        ],
  );
}

function allowPolicies(file: OrgConfigFile): Guarded[] {
  const found: Guarded[] = [];
  for (const [tool, policy] of Object.entries(file.serve?.tools ?? {})) {
    if (policy !== "allow") continue;
    found.push(
      guarded(`serve.tools.${tool}`, policy, "allow", `any request to serve runs ${tool}; until you confirm it, it is refused over HTTP`, (entry) => {
        if (entry.serve?.tools) entry.serve.tools[tool] = "ask";
      }),
    );
  }
  for (const [name, server] of Object.entries(file.mcpServers ?? {})) {
    if (server.policy === "allow")
      found.push(
        guarded(`mcpServers.${name}.policy`, "allow", "allow", `agents run ${name}'s tools without asking you; ${ASKS}`, (entry) => {
          const target = entry.mcpServers?.[name];
          if (target) target.policy = "ask";
        }),
      );
    for (const [tool, policy] of Object.entries(server.tools ?? {})) {
      if (policy !== "allow") continue;
      found.push(
        guarded(
          `mcpServers.${name}.tools[${JSON.stringify(tool)}]`,
          policy,
          "allow",
          `agents run ${name}'s tool without asking you; ${ASKS}`,
          (entry) => {
            const tools = entry.mcpServers?.[name]?.tools;
            if (tools) tools[tool] = "ask";
          },
        ),
      );
    }
  }
  return found;
}

function sandboxSettings(file: OrgConfigFile): Guarded[] {
  const found: Guarded[] = [];
  const sandbox = file.sandbox;
  if (sandbox?.workspace === "write")
    found.push(
      guarded(
        "sandbox.workspace",
        "write",
        "write",
        "the agents' commands change files of the workspace (each change shown to you); until you confirm it, they see it read-only",
        (entry) => {
          if (entry.sandbox) entry.sandbox.workspace = "read";
        },
      ),
    );
  if (sandbox?.workspaceWrite === "allow")
    found.push(
      guarded("sandbox.workspaceWrite", "allow", "allow", `a command's change to your files is applied without asking you; ${ASKS}`, (entry) => {
        if (entry.sandbox) entry.sandbox.workspaceWrite = "ask";
      }),
    );
  const secretPaths = sandbox?.secretPaths;
  const uncovered = secretPaths === undefined ? [] : DEFAULT_SECRET_PATHS.filter((pattern) => !secretPaths.includes(pattern));
  if (secretPaths !== undefined && uncovered.length > 0)
    found.push(
      guarded(
        "sandbox.secretPaths",
        secretPaths,
        secretPaths.length === 0 ? "[]" : list(secretPaths),
        `the agents see files of ${list(uncovered)}, which org hides by default; until you confirm it, they stay hidden as well`,
        (entry) => {
          if (entry.sandbox) entry.sandbox.secretPaths = [...new Set([...DEFAULT_SECRET_PATHS, ...secretPaths])];
        },
      ),
    );
  const egress = sandbox?.egress;
  if (egress !== undefined && egressReachesOut(egress))
    found.push(
      guarded(
        "sandbox.egress",
        egress,
        [
          `allow ${list(egress.allow ?? [])}`.trimEnd(),
          ...(egress.presets ?? []).map((name) => `preset ${name} (${EGRESS_PRESETS[name].join(", ")})`),
          `a host on neither list: ${egress.unlisted ?? "deny"}`,
        ].join("; "),
        "the agents' commands connect to these hosts through org's egress guard; until you confirm it, they have no network",
        (entry) => {
          if (entry.sandbox) delete entry.sandbox.egress;
        },
      ),
    );
  return found;
}

function outwardSettings(file: OrgConfigFile): Guarded[] {
  const found: Guarded[] = [];
  const hosts = file.network?.allowedHosts ?? [];
  if (hosts.length > 0) {
    const value = [...new Set(hosts.map((host) => host.toLowerCase()))].sort();
    found.push(
      guarded("network.allowedHosts", value, list(value), "web_fetch may fetch from these hosts; until you confirm it, it reaches none", (entry) => {
        if (entry.network) entry.network.allowedHosts = [];
      }),
    );
  }
  if (file.network?.defaultDeny === false)
    found.push(
      guarded(
        "network.defaultDeny",
        false,
        "false",
        "web_fetch may fetch from any public host; until you confirm it, only from those listed",
        (entry) => {
          if (entry.network) entry.network.defaultDeny = true;
        },
      ),
    );
  found.push(...phoneSettings(file));
  const webhook = file.supervise?.webhook;
  if (webhook !== undefined)
    found.push(
      guarded(
        "supervise.webhook",
        { url: webhook, secret: file.supervise?.webhookSecret ?? null },
        displayUrl(webhook),
        "every incident the supervisor finds is sent there; until you confirm it, none is",
        (entry) => {
          if (!entry.supervise) return;
          delete entry.supervise.webhook;
          delete entry.supervise.webhookSecret;
        },
      ),
    );
  const dir = file.backup?.dir;
  if (dir !== undefined)
    found.push(
      guarded(
        "backup.dir",
        dir,
        JSON.stringify(dir),
        "backups (sessions, memory, org's state) are written there; until you confirm it, into .org/backups/",
        (entry) => {
          if (entry.backup) delete entry.backup.dir;
        },
      ),
    );
  return found;
}

/** web_request's hosts and the Telegram bot's server and chats: what is sent out of the machine, and who may drive the room. */
function phoneSettings(file: OrgConfigFile): Guarded[] {
  const found: Guarded[] = [];
  const requestHosts = file.web?.requestHosts ?? [];
  if (requestHosts.length > 0) {
    const value = [...new Set(requestHosts.map((host) => host.toLowerCase()))].sort();
    found.push(
      guarded(
        "web.requestHosts",
        value,
        list(value),
        "web_request sends to these hosts without asking you; until you confirm it, it asks for every host",
        (entry) => {
          if (entry.web) entry.web.requestHosts = [];
        },
      ),
    );
  }
  const apiBase = file.telegram?.apiBase;
  if (apiBase !== undefined && urlOrigin(apiBase) !== urlOrigin(TELEGRAM_API_BASE))
    found.push(
      guarded(
        "telegram.apiBase",
        apiBase,
        displayUrl(apiBase),
        `the bot's token and every message of its chats go to this server; until you confirm it, org telegram ` +
          `uses Telegram's own (${TELEGRAM_API_BASE})`,
        (entry) => {
          if (entry.telegram) entry.telegram.apiBase = TELEGRAM_API_BASE;
        },
      ),
    );
  const transcribe = file.telegram?.transcribe;
  if (transcribe !== undefined)
    found.push(
      guarded(
        "telegram.transcribe",
        transcribe,
        displayUrl(transcribe.url),
        "voice notes from the bot's chats are sent to this server to be transcribed; until you confirm it, they " + "reach the room untranscribed",
        (entry) => {
          if (entry.telegram) delete entry.telegram.transcribe;
        },
      ),
    );
  const chats = file.telegram?.allowedChats ?? [];
  if (chats.length > 0) {
    const value = [...new Set(chats)].sort();
    found.push(
      guarded(
        "telegram.allowedChats",
        value,
        list(value),
        "these chats drive the room through your bot (messages, tools, approvals) and get the supervisor's " +
          "news; until you confirm it, the bot serves no chat",
        (entry) => {
          if (entry.telegram) entry.telegram.allowedChats = [];
        },
      ),
    );
  }
  return found;
}

/** What is promoted or run without a person: grow's tools, the observer's facts about the person, the teammates' offers. */
function unaskedPromotions(file: OrgConfigFile): Guarded[] {
  const found: Guarded[] = [];
  if (file.grow?.autoPromote === true)
    found.push(
      guarded(
        "grow.autoPromote",
        true,
        "true",
        "org grow promotes the tools it builds without a person; until you confirm it, they wait for 'org promote'",
        (entry) => {
          if (entry.grow) entry.grow.autoPromote = false;
        },
      ),
    );
  if (file.observer?.promote === "auto")
    found.push(
      guarded(
        "observer.promote",
        "auto",
        '"auto"',
        "the facts the observer proposes about you become active, and join every persona's prompt, without you; " +
          "until you confirm it, they wait for /facts accept",
        (entry) => {
          if (entry.observer) entry.observer.promote = "suggest";
        },
      ),
    );
  if (file.share?.autoPromote === true)
    found.push(
      guarded(
        "share.autoPromote",
        true,
        "true",
        "org share pull promotes the teammates' tools this machine's gate passed without a person; until you confirm it, " +
          "they wait for 'org share promote'",
        (entry) => {
          if (entry.share) entry.share.autoPromote = false;
        },
      ),
    );
  const pullEvery = file.share?.pullEvery;
  if (pullEvery !== undefined)
    found.push(
      guarded(
        "share.pullEvery",
        pullEvery,
        `every ${formatDuration(pullEvery)}`,
        "org supervise pulls the team's offers and runs their code through this machine's gate with nobody there; " +
          "until you confirm it, offers are pulled only by 'org share pull'",
        (entry) => {
          if (entry.share) delete entry.share.pullEvery;
        },
      ),
    );
  return found;
}

function unattendedSettings(file: OrgConfigFile): Guarded[] {
  const found: Guarded[] = [];
  const extra = (file.supervise?.autoFix ?? []).filter((action) => !DEFAULT_AUTO_FIX.includes(action));
  if (extra.length > 0)
    found.push(
      guarded(
        "supervise.autoFix",
        [...extra].sort(),
        list(extra),
        "the supervisor applies these fixes without a person; until you confirm it, they wait for 'org supervise apply'",
        (entry) => {
          if (entry.supervise) entry.supervise.autoFix = entry.supervise.autoFix.filter((action) => DEFAULT_AUTO_FIX.includes(action));
        },
      ),
    );
  const idle = file.supervise?.idleWork;
  if (idle !== undefined)
    found.push(
      guarded(
        "supervise.idleWork",
        idle,
        `after ${idle.afterMinutes} idle minutes, up to ${idle.maxMinutes} min and ${idle.maxTokens} tokens a round`,
        "the supervisor runs tools, workflows and a model's proposals on its own while the room is idle; until you confirm it, it does not",
        (entry) => {
          if (entry.supervise) delete entry.supervise.idleWork;
        },
      ),
    );
  found.push(...unaskedPromotions(file));
  const sessions = GrowSettings.parse({}).confirmSessions;
  if (file.grow !== undefined && file.grow.confirmSessions < sessions)
    found.push(
      guarded(
        "grow.confirmSessions",
        file.grow.confirmSessions,
        String(file.grow.confirmSessions),
        `org grow builds what only a model asked for after fewer sessions; until you confirm it, after ${sessions}`,
        (entry) => {
          if (entry.grow) entry.grow.confirmSessions = sessions;
        },
      ),
    );
  return found;
}

function scheduleSettings(file: OrgConfigFile): Guarded[] {
  return Object.entries(file.schedules ?? {}).map(([name, entry]) => {
    const what = entry.workflow !== undefined ? `workflow ${entry.workflow}` : `to ${entry.to}: ${JSON.stringify(entry.message?.slice(0, 60))}`;
    return guarded(
      `schedules.${name}`,
      entry,
      `${entry.cron}: ${what}`.slice(0, 200),
      "runs unattended on its clock (a message to a model, or a workflow); until you confirm it, it does not run",
      (gated) => {
        if (gated.schedules) delete gated.schedules[name];
      },
    );
  });
}

/** A model route to another server than OLLAMA_BASE's: its calls (and what they quote) go there. */
function routeSettings(file: OrgConfigFile, context: GuardContext): Guarded[] {
  const found: Guarded[] = [];
  for (const part of ["byPurpose", "byTool"] as const) {
    for (const [name, route] of Object.entries(file.models?.[part] ?? {})) {
      const server = routeServer(route);
      if (server === undefined || urlOrigin(server) === urlOrigin(context.ollamaBase)) continue;
      found.push(
        guarded(
          `models.${part}.${name}.${SERVER_URL_KEY}`,
          server,
          displayUrl(server),
          `org's ${name} calls, and what they quote, go to this server; until you confirm it, they stay on the model they stand in for`,
          (entry) => {
            const purpose = ModelPurpose.safeParse(name);
            if (part === "byTool") delete entry.models?.byTool?.[name];
            else if (purpose.success) delete entry.models?.byPurpose?.[purpose.data];
          },
        ),
      );
    }
  }
  return found;
}

function allGuarded(file: OrgConfigFile, context: GuardContext): Guarded[] {
  return [
    ...personaSettings(file, context),
    ...routeSettings(file, context),
    ...serverSettings(file),
    ...allowPolicies(file),
    ...sandboxSettings(file),
    ...outwardSettings(file),
    ...unattendedSettings(file),
    ...limitSettings(file),
    ...scheduleSettings(file),
  ];
}

/** The guarded settings `file` holds (see above), in the file's order of parts. */
export function guardedSettings(file: OrgConfigFile, context: GuardContext): GuardedSetting[] {
  return allGuarded(file, context).map(({ revert: _revert, ...setting }) => setting);
}

/**
 * The one gate of a config file: each guarded setting whose id `confirmed` lacks is put back to its default. Returns
 * the file org runs with and the settings that wait for `org config trust`.
 */
export function gateConfigFile(
  file: OrgConfigFile,
  context: GuardContext,
  confirmed: (id: string) => boolean,
): { file: OrgConfigFile; waiting: GuardedSetting[] } {
  const gated = structuredClone(file);
  const waiting: GuardedSetting[] = [];
  for (const { revert, ...setting } of allGuarded(file, context)) {
    if (confirmed(setting.id)) continue;
    revert(gated);
    waiting.push(setting);
  }
  return { file: gated, waiting };
}
