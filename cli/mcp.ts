// `chainflow mcp`: the MCP server on stdio for assistants that start it as a process
// (Claude Desktop, Cursor). It opens no database: every tool is a REST call to the API at
// CHAINFLOW_URL with the personal access token CHAINFLOW_TOKEN. stdout carries only the
// protocol; messages go to stderr.

import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { ConfigError, type Config } from '../config.ts';
import { apiClient } from '../api/mcp/client.ts';
import { createMcpServer } from '../api/mcp/server.ts';

export async function mcpCommand(config: Config): Promise<void> {
  const { url, token } = config.mcp;
  if (!token) {
    throw new ConfigError('CHAINFLOW_TOKEN is not set: create a personal access token (POST /api/v1/auth/tokens, or Account › Tokens in the web app) and pass it in the MCP client’s env (docs/mcp.md).');
  }
  const server = createMcpServer(apiClient(url, token));
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.on('end', () => resolve());
  });
  await server.connect(transport);
  process.stderr.write(`chainflow mcp: serving on stdio, acting through ${url}\n`);
  await closed;
  await server.close();
}
