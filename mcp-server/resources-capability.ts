import type { McpCapability, McpServerContext } from "./mcp-capability.ts";
import { entriesNow, refuseCursor } from "./mcp-capability.ts";
import { isOrgResourceUri, listResources, RESOURCE_TEMPLATES, readResource, resourceVersions } from "./mcp-resources.ts";
import { offeredReports } from "./tool-reports.ts";

/** The spec's code for a resource that does not exist. */
const RESOURCE_NOT_FOUND = -32002;
const MAX_SUBSCRIPTIONS = 1_000;

/**
 * `resources/list`, `resources/templates/list`, `resources/read` (`mcp-resources.ts`; an unknown URI is
 * JSON-RPC -32002) and subscriptions; after each change of the set, `notifications/resources/list_changed`.
 */
export const resourcesCapability: McpCapability = {
  declares: { resources: { subscribe: true, listChanged: true } },
  register(context) {
    const { server, sdk, tools } = context;
    server.setRequestHandler(sdk.ListResourcesRequestSchema, async (request) => {
      refuseCursor(sdk, request.params?.cursor, "resource");
      const entries = await entriesNow(context);
      return { resources: listResources(entries, await offeredReports(tools.entries())) };
    });
    server.setRequestHandler(sdk.ListResourceTemplatesRequestSchema, async (request) => {
      refuseCursor(sdk, request.params?.cursor, "resource template");
      return { resourceTemplates: RESOURCE_TEMPLATES };
    });
    server.setRequestHandler(sdk.ReadResourceRequestSchema, async (request) => {
      const { uri } = request.params;
      const read = await readResource(uri, await entriesNow(context), () => offeredReports(tools.entries()));
      if (!read.ok) throw new sdk.McpError(read.missing ? RESOURCE_NOT_FOUND : sdk.ErrorCode.InternalError, read.error, { uri: uri.slice(0, 200) });
      return { contents: [{ uri, mimeType: read.mimeType, text: read.text }] };
    });
    const tellSubscribers = registerSubscriptions(context);
    return tools.onChange(() => {
      server.sendResourceListChanged().catch(() => {
        // Not connected (yet or any more): the client lists again when it connects.
      });
      tellSubscribers();
    });
  },
};

/**
 * `resources/subscribe` and `resources/unsubscribe` (at most 1000 URIs a session, each one org could have).
 * Returns what runs after each change of the set: a subscriber hears of each of its URIs whose content changed or went.
 */
function registerSubscriptions(context: McpServerContext): () => void {
  const { server, sdk, tools } = context;
  const subscribed = new Set<string>();
  let versions: Map<string, string> | undefined;
  const orgUri = (uri: string) => {
    if (isOrgResourceUri(uri)) return uri;
    throw new sdk.McpError(
      sdk.ErrorCode.InvalidParams,
      `${JSON.stringify(uri.slice(0, 200))} is not one of org's resources (org://tools/<name>/…, ` +
        `org://workflows/<name>); see resources/templates/list`,
    );
  };
  server.setRequestHandler(sdk.SubscribeRequestSchema, async (request) => {
    const uri = orgUri(request.params.uri);
    versions ??= resourceVersions(await entriesNow(context), await offeredReports(tools.entries()));
    if (subscribed.size >= MAX_SUBSCRIPTIONS && !subscribed.has(uri))
      throw new sdk.McpError(sdk.ErrorCode.InvalidParams, `at most ${MAX_SUBSCRIPTIONS} subscriptions per session; unsubscribe from some first`);
    subscribed.add(uri);
    return {};
  });
  server.setRequestHandler(sdk.UnsubscribeRequestSchema, async (request) => {
    subscribed.delete(orgUri(request.params.uri));
    return {};
  });
  return () => {
    if (subscribed.size === 0) {
      versions = undefined;
      return;
    }
    void (async () => {
      const before = versions ?? new Map<string, string>();
      const after = resourceVersions(tools.entries(), await offeredReports(tools.entries()));
      versions = after;
      for (const uri of subscribed)
        if (before.get(uri) !== after.get(uri))
          await server.sendResourceUpdated({ uri }).catch(() => {
            // Not connected any more: nobody to tell.
          });
    })().catch((error: unknown) => context.logError(`mcp: telling subscribers failed: ${error instanceof Error ? error.stack : String(error)}`));
  };
}
