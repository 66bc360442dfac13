/**
 * An MCP server of prompts (issue 17): prompt-catalog.ts wired to the official MCP SDK.
 *
 * Why the SDK is an optional peer dependency, loaded here with `import()` (and not a dependency,
 * nor a hand-written JSON-RPC server): `@modelcontextprotocol/sdk` depends on Express, Hono,
 * Ajv and more, and `@anvil/client` must stay light for the apps that embed it and never serve
 * MCP. Only `anvil-live mcp` and the forge load it; an app without it gets `mcp.sdk-missing`
 * with the command that installs it. Using the SDK rather than our own protocol code keeps
 * version negotiation, capabilities and error shapes exactly what MCP hosts expect.
 *
 * The SDK's low-level `Server` is used, not `McpServer`: its `registerPrompt` wants a zod
 * schema per prompt, fixed at registration, while these prompts come and go with each version
 * applied and their arguments come from the bundles' JSON Schemas.
 */
import { AnvilError, isAnvilError } from '@anvil/content-schema';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { getMcpPrompt, listMcpPrompts, type McpPromptSource } from './prompt-catalog.ts';

type ServerModule = typeof import('@modelcontextprotocol/sdk/server/index.js');
type TypesModule = typeof import('@modelcontextprotocol/sdk/types.js');

export interface McpSdk {
  server: ServerModule;
  types: TypesModule;
}

/** The package the `mcp.sdk-missing` hint installs (the range `@anvil/client` is tested with). */
export const MCP_SDK_PACKAGE = '@modelcontextprotocol/sdk';

/** Loads the SDK, or throws `mcp.sdk-missing` saying how to install it. */
export async function loadMcpSdk(): Promise<McpSdk> {
  try {
    const [server, types] = await Promise.all([
      import('@modelcontextprotocol/sdk/server/index.js'),
      import('@modelcontextprotocol/sdk/types.js'),
    ]);
    return { server, types };
  } catch (err) {
    throw sdkMissing(err);
  }
}

/** `err` as `mcp.sdk-missing` when it says the SDK is not installed; otherwise `err`. */
export function sdkMissing(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((err as Error).message).includes(MCP_SDK_PACKAGE)) {
    return new AnvilError('mcp.sdk-missing', `serving prompts over MCP needs the MCP SDK (${MCP_SDK_PACKAGE}), which is not installed`, {
      hint: `npm install ${MCP_SDK_PACKAGE}`,
      cause: err,
    });
  }
  return err;
}

export interface McpPromptServerOptions {
  /** The implementation name and version sent in `initialize`. */
  name: string;
  version: string;
  instructions?: string;
  /** The SDK, when the caller has it loaded already (the forge imports it statically). */
  sdk?: McpSdk;
}

export interface McpPromptServer {
  readonly server: Server;
  connect(transport: Transport): Promise<void>;
  /** Sends `notifications/prompts/list_changed` (nothing when no client is connected). */
  promptsChanged(): Promise<void>;
  close(): Promise<void>;
}

/** An SDK `Server` answering `prompts/list` and `prompts/get` from `source`. */
export async function createMcpPromptServer(source: McpPromptSource, options: McpPromptServerOptions): Promise<McpPromptServer> {
  const sdk = options.sdk ?? await loadMcpSdk();
  const { ErrorCode, GetPromptRequestSchema, ListPromptsRequestSchema, McpError } = sdk.types;
  const server = new sdk.server.Server(
    { name: options.name, version: options.version },
    { capabilities: { prompts: { listChanged: true } }, ...(options.instructions ? { instructions: options.instructions } : {}) },
  );

  /** An error a request caused is InvalidParams with the Anvil code; anything else stays internal. */
  const asMcpError = (err: unknown): unknown => {
    if (!isAnvilError(err)) return err;
    const code = err.code.startsWith('mcp.') || err.code.startsWith('prompt.') ? ErrorCode.InvalidParams : ErrorCode.InternalError;
    return new McpError(code, err.hint ? `${err.code}: ${err.message} (hint: ${err.hint})` : `${err.code}: ${err.message}`, {
      code: err.code,
      ...(err.hint ? { hint: err.hint } : {}),
    });
  };

  server.setRequestHandler(ListPromptsRequestSchema, async () => {
    try {
      return { prompts: listMcpPrompts(await source.sets(), source) };
    } catch (err) {
      throw asMcpError(err);
    }
  });
  server.setRequestHandler(GetPromptRequestSchema, async (request) => {
    try {
      return getMcpPrompt(await source.sets(), source, request.params.name, request.params.arguments ?? {});
    } catch (err) {
      throw asMcpError(err);
    }
  });

  return {
    server,
    connect: (transport) => server.connect(transport),
    promptsChanged: async () => {
      if (server.transport !== undefined) await server.sendPromptListChanged();
    },
    close: () => server.close(),
  };
}
