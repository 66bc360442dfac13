/**
 * `@anvil/client/mcp`: prompts over MCP (issue 17), for `anvil-live mcp` and the forge. Kept out
 * of the main entry so that an app loads none of it; the MCP SDK it uses is an optional peer.
 */
export { getMcpPrompt, listMcpPrompts, mcpPromptName, promptVariables, toMcpMessages } from './prompt-catalog.ts';
export type { McpContent, McpPrompt, McpPromptArgument, McpPromptMessage, McpPromptMeta, McpPromptSet, McpPromptSource, McpRenderedPrompt } from './prompt-catalog.ts';
export { createMcpPromptServer, loadMcpSdk, MCP_SDK_PACKAGE, sdkMissing } from './mcp-server.ts';
export type { McpPromptServer, McpPromptServerOptions, McpSdk } from './mcp-server.ts';
export { clientPromptSource } from './client-source.ts';
export type { ClientPromptSource } from './client-source.ts';
