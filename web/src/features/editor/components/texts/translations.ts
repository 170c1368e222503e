// Texts per language: which fields of a node type have per-language variants (read from
// its config's JSON Schema, so new types work unchanged) and which translations are missing.

import type { Graph, GraphNode, NodeType } from '../../editor.types.ts';
import { asRecord, isSchema } from '../../schema.ts';

/** The text fields a node type translates (`text` of a message, `prompt` and `retryText` of an ask). */
export function translatableFields(type: NodeType | undefined): string[] {
  const variants = asRecord(asRecord(asRecord(type?.configSchema).properties).variants);
  const variant = asRecord(variants.additionalProperties);
  return Object.entries(asRecord(variant.properties))
    .filter(([, schema]) => isSchema(schema) && schema.type === 'string')
    .map(([key]) => key);
}

/** The chain's languages, default first. */
export function chainLanguages(graph: Pick<Graph, 'defaultLanguage' | 'languages'>): string[] {
  return [graph.defaultLanguage, ...(graph.languages ?? []).filter((l) => l !== graph.defaultLanguage)];
}

export interface MissingTranslation {
  nodeId: string;
  language: string;
  field: string;
}

/** Fields whose default-language text is set but whose translation into a chain language is not. */
export function missingInNode(node: GraphNode, fields: string[], languages: string[]): MissingTranslation[] {
  const data = asRecord(node.data);
  const variants = asRecord(data.variants);
  const missing: MissingTranslation[] = [];
  for (const language of languages) {
    const variant = asRecord(variants[language]);
    for (const field of fields) {
      const base = data[field];
      if (typeof base !== 'string' || base.trim() === '') continue;
      const text = variant[field];
      if (typeof text !== 'string' || text.trim() === '') missing.push({ nodeId: node.id, language, field });
    }
  }
  return missing;
}

/** Every missing translation of the chain (languages other than the default). */
export function missingTranslations(graph: Graph, typeOf: (type: string) => NodeType | undefined): MissingTranslation[] {
  const languages = chainLanguages(graph).slice(1);
  if (!languages.length) return [];
  return graph.nodes.flatMap((node) => missingInNode(node, translatableFields(typeOf(node.type)), languages));
}
