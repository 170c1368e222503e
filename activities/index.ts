import type { MikroORM } from '@mikro-orm/postgresql';
import type { NodeActivityName } from '../chain/index.ts';
import type { Logger } from '../lib/logger.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import { createAgentActivities } from './agent.ts';
import { createReplyStreams } from './agent-stream.ts';
import { createCleanupActivities } from './cleanup.ts';
import { createCodeActivities } from './code.ts';
import type { CodeSandbox } from './code-sandbox.ts';
import { createEngineActivities } from './engine.ts';
import { createHttpActivities, type HttpDeps } from './http.ts';
import { createKnowledgeActivities } from './knowledge.ts';
import { createLlmActivities } from './llm.ts';
import { createPluginActivities } from './plugin.ts';
import type { PluginRegistry } from '../lib/plugins/host.ts';
import { createTypingIndicator } from './telegram-typing.ts';

/** What activities need from the outside world; tests pass real ones pointed at test servers. */
export interface ActivityDeps {
  orm: MikroORM;
  logger: Logger;
  secretBox: SecretBox;
  /** SSRF allow-list and resolver of every outbound client (HTTP and LLM nodes). */
  ssrf?: HttpDeps['ssrf'];
  /** A shared QuickJS pool (close it on shutdown); one is made when absent. */
  sandbox?: CodeSandbox;
  /** Plugins whose nodes `runPluginNode` runs; the process's registry (lib/plugins/process.ts) when absent. */
  plugins?: PluginRegistry;
  /** KNOWLEDGE_EMBEDDING_BATCH: inputs per `/embeddings` request of the ingestion (64 when absent). */
  knowledge?: { embeddingBatch?: number };
}

/**
 * All Chainflow activities, bound to their dependencies. Workflows import only types and
 * call them through proxyActivities / proxyLocalActivities.
 */
export function createActivities(deps: ActivityDeps) {
  // A Telegram chat shows "… is typing" while a node's activity runs for its session.
  const withTyping = createTypingIndicator({ orm: deps.orm, logger: deps.logger, secretBox: deps.secretBox });
  const { httpRequest } = createHttpActivities({ orm: deps.orm, logger: deps.logger, secretBox: deps.secretBox, ...(deps.ssrf ? { ssrf: deps.ssrf } : {}) });
  const { llmComplete } = createLlmActivities({ orm: deps.orm, logger: deps.logger, secretBox: deps.secretBox, ...(deps.ssrf ? { ssrf: deps.ssrf } : {}) });
  const { runCode, trialCode } = createCodeActivities({ logger: deps.logger, ...(deps.sandbox ? { sandbox: deps.sandbox } : {}) });
  const { runPluginNode } = createPluginActivities(deps.plugins ? { plugins: deps.plugins } : {});
  const { agentModel, agentHttpTool } = createAgentActivities({ orm: deps.orm, logger: deps.logger, secretBox: deps.secretBox, httpRequest, streams: createReplyStreams({ orm: deps.orm, logger: deps.logger, secretBox: deps.secretBox }), ...(deps.ssrf ? { ssrf: deps.ssrf } : {}) });
  return {
    ...createEngineActivities(deps),
    httpRequest: withTyping(httpRequest),
    llmComplete: withTyping(llmComplete),
    runCode: withTyping(runCode),
    trialCode,
    runPluginNode: withTyping(runPluginNode),
    agentModel: withTyping(agentModel),
    agentHttpTool: withTyping(agentHttpTool),
    ...createCleanupActivities({ orm: deps.orm, logger: deps.logger }),
    ...createKnowledgeActivities({ orm: deps.orm, logger: deps.logger, secretBox: deps.secretBox, ...(deps.ssrf ? { ssrf: deps.ssrf } : {}), ...(deps.knowledge?.embeddingBatch ? { embeddingBatch: deps.knowledge.embeddingBatch } : {}) }),
  };
}

export type Activities = ReturnType<typeof createActivities>;

/** Fails to compile when a node spec names an activity (`activity` in chain/nodes/) that is not provided above. */
type Provided<Name extends keyof Activities> = Name;
type _EveryNodeActivity = Provided<NodeActivityName>;
