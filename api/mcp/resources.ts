// What an assistant reads before it builds: one document per node type (from the node
// registry, so it cannot drift from the compiler) and the chain language reference.
// Both are made from code, so `chainflow mcp` serves them without reaching the API.

import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { graphSchema, nodeSpecs, nodeTypes, portsOf, type NodeSpec } from '../../chain/index.ts';

export const LANGUAGE_URI = 'chainflow://docs/chain-language';
export const nodeTypeUri = (type: string) => `chainflow://node-types/${type}`;

const schemaOf = (schema: z.ZodType) => JSON.stringify(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), null, 2);

/** A node type as Markdown: what it does, its ports, its defaults and its config schema. */
export function nodeTypeDoc(spec: NodeSpec): string {
  const defaults = spec.config.safeParse(spec.defaults);
  const ports = typeof spec.ports === 'function' ? (defaults.success ? portsOf(spec, defaults.data) : []) : spec.ports;
  const optional = Object.entries(spec.optionalPorts ?? {}).map(([port, how]) => `- \`${port}\` (only when configured: ${how})`);
  return [
    `# ${spec.label.en} (\`${spec.type}\`)`,
    '',
    spec.help.en,
    '',
    `Category: ${spec.category}.${spec.terminal ? ' The chain may end here.' : ''}${typeof spec.waits === 'function' || spec.waits ? ' It can suspend the session (waits for the user or a timer).' : ''}`,
    '',
    '## Output ports',
    ports.length ? ports.map((p) => `- \`${p.id}\`${p.label ? ` — ${p.label.en}` : ''}${p.required ? ' (must be connected)' : ''}`).join('\n') : '- none (the session ends or jumps here)',
    ...(typeof spec.ports === 'function' ? ['', 'The ports follow the config (the list above is for the defaults).'] : []),
    ...(optional.length ? ['', ...optional] : []),
    '',
    '## Defaults (`data` of a new node)',
    '```json',
    JSON.stringify(spec.defaults ?? {}, null, 2),
    '```',
    '',
    '## Config schema (`data`)',
    '```json',
    schemaOf(spec.config),
    '```',
  ].join('\n');
}

/** The chain language: graph, ports and edges, variables, templates, triggers, the workflow of building one. */
export function chainLanguageDoc(): string {
  const types = nodeTypes.map((t) => `- \`${t}\` — ${nodeSpecs[t].label.en}: ${nodeSpecs[t].help.en.split('\n')[0]} (${nodeTypeUri(t)})`);
  return `# The Chainflow chain language

A **chain** is a graph: **nodes** (each with an \`id\`, a \`type\`, a \`position\` on the canvas and
its config in \`data\`) joined by **edges** from an output **port** of one node (\`sourcePort\`,
default \`next\`) to another node. Every chain has a **draft** (what the tools edit; it need not
compile) and published **versions** (immutable; one is active, new sessions run it).

## Building a chain with the tools
1. \`list_node_types\` (or read the node-type resources) to see types, ports and config schemas.
2. \`create_chain\` with a name (it starts from a minimal greeting draft) or a whole graph.
3. \`add_node\`, \`update_node\`, \`remove_node\`, \`connect\`, \`disconnect\`, \`declare_variables\`:
   each saves the draft and answers its compile report.
4. \`validate\` until \`ok: true\`: every error names the node, the field and the fix.
5. \`simulate\` each branch (another \`visitorId\` is another user; \`reset: true\` starts afresh).
6. \`publish\` with a note. \`diff_versions\`, \`list_versions\` and \`rollback\` manage versions.

## Sessions
A session starts at a \`start\` node whose trigger matches (a command like \`/start\`, any
message, a schedule, a webhook or an API call), runs node after node and suspends at nodes
that wait (\`ask\` waits for the answer, \`delay\` for a timer). A session ends at an \`end\`
node or at a port with no edge. Loops must pass through a node that waits.

## Variables
Names are \`scope.name\`: \`message.*\` (the current inbound message: \`message.text\`),
\`session.*\` (this session), \`user.*\`, \`chat.*\`, \`bot.*\` (kept across sessions per user,
chat or bot), \`run.*\` (input of an API or webhook run), \`secrets.*\` (credentials by name,
only inside HTTP, LLM and code nodes; never stored). \`user.first_name\` comes from the
channel's profile. Declare the variables a chain keeps with \`declare_variables\`.

## Templates
Texts are templates: \`{{ user.name }}\`, with filters such as \`{{ user.first_name | default: "friend" }}\`.
A missing variable renders as empty.

## Conditions
\`condition\` nodes take a rule group \`{condition: 'AND'|'OR', rules: [{field, operator, value?}]}\`
(operators such as \`equals\`, \`is_not_empty\`, \`contains\`) and leave through \`true\` or \`false\`.

## Languages
\`defaultLanguage\` and \`languages\` of the chain; a node's \`data.variants.<lang>\` overrides its texts.

## Node types
${types.join('\n')}

## The graph (JSON Schema)
\`\`\`json
${schemaOf(graphSchema)}
\`\`\`
`;
}

/** Registers the node-type documents and the chain language reference. */
export function registerResources(server: McpServer): void {
  server.registerResource(
    'chain-language',
    LANGUAGE_URI,
    { title: 'The chain language', description: 'How chains are built: graph, ports, variables, templates, the build workflow', mimeType: 'text/markdown' },
    (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/markdown', text: chainLanguageDoc() }] }),
  );
  server.registerResource(
    'node-type',
    new ResourceTemplate('chainflow://node-types/{type}', {
      list: () => ({
        resources: nodeTypes.map((t) => ({ uri: nodeTypeUri(t), name: `node-type-${t}`, title: `${nodeSpecs[t].label.en} node`, description: nodeSpecs[t].help.en.split('\n')[0], mimeType: 'text/markdown' })),
      }),
      complete: { type: (value) => nodeTypes.filter((t) => t.startsWith(value)) },
    }),
    { title: 'Node type', description: 'One node type: ports, defaults, config schema', mimeType: 'text/markdown' },
    (uri, variables) => {
      const type = String(variables.type);
      const spec = Object.hasOwn(nodeSpecs, type) ? (nodeSpecs as Record<string, NodeSpec>)[type] : undefined;
      if (!spec) throw new Error(`Unknown node type "${type}"; the types are ${nodeTypes.join(', ')}.`);
      return { contents: [{ uri: uri.href, mimeType: 'text/markdown', text: nodeTypeDoc(spec) }] };
    },
  );
}

/** Prompts that start an assistant off on a build. */
export function registerPrompts(server: McpServer): void {
  server.registerPrompt(
    'build_bot',
    { title: 'Build a bot', description: 'Build, test and publish a chain that does what you describe', argsSchema: { goal: z.string().describe('What the bot should do, e.g. "asks for the name and greets by it"') } },
    ({ goal }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'text',
            text: `Build a Chainflow bot that ${goal}.\n\nFirst read ${LANGUAGE_URI} and the node types you need (list_node_types). Then create_chain, add the nodes and connect them, declare the variables it keeps, and validate until ok is true (fix each error as its "fix" says). Simulate every branch with simulate (use reset: true and a new visitorId per path) and check the replies. Publish with a note that says what the bot does, and tell me what you built and how you tested it.`,
          },
        },
      ],
    }),
  );
  server.registerPrompt(
    'review_chain',
    { title: 'Review a chain', description: 'Check a chain for problems and untested branches', argsSchema: { chain: z.string().describe('Chain id or slug') } },
    ({ chain }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'text',
            text: `Review the Chainflow chain "${chain}": get_chain for its graph and compile report, then simulate each branch. List the errors, warnings and dead ends with the fix for each, and what changed since the active version (diff_versions from 'active' to 'draft'). Change nothing.`,
          },
        },
      ],
    }),
  );
}
