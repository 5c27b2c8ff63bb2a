import type { McpCapability } from "./mcp-capability.ts";

/** `logging/setLevel`: the client's level; below it nothing is sent. */
export const loggingCapability: McpCapability = {
  declares: { logging: {} },
  register({ server, sdk, log }) {
    server.setRequestHandler(sdk.SetLevelRequestSchema, async (request) => {
      log.setLevel(request.params.level);
      return {};
    });
    return undefined;
  },
};
