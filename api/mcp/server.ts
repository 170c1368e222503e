import { readFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ApiClient } from './client.ts';
import { registerPrompts, registerResources } from './resources.ts';
import { registerTools } from './tools.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const INSTRUCTIONS = `Chainflow builds chatbots as chains (graphs of nodes). Every edit is checked by the compiler; try the draft with simulate before you publish. Read chainflow://docs/chain-language first.`;

/**
 * The Chainflow MCP server: tools, resources and prompts, acting through `api` (the REST
 * API with one personal access token). Used by `/mcp` (one per request) and `chainflow mcp`.
 */
export function createMcpServer(api: ApiClient): McpServer {
  const server = new McpServer({ name: 'chainflow', title: 'Chainflow', version: VERSION }, { instructions: INSTRUCTIONS, capabilities: { tools: {}, resources: {}, prompts: {} } });
  registerTools(server, api);
  registerResources(server);
  registerPrompts(server);
  return server;
}
