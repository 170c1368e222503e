import { z } from 'zod';
import { ruleGroupSchema } from './rules-schema.ts';
import { parseVariablePath, variableTypes } from './scope.ts';

// The graph is what the editor saves, import/export reads and writes (JSON or YAML),
// and compileChain turns into the IR. Node `data` is the node's config; it is checked
// per node type by the compiler (so that errors can name the node and the field).

const l = (en: string, ru: string): { en: string; ru: string } => ({ en, ru });

export const nodeIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,99}$/, "Use 1–100 letters, digits, '_', '-', '.' or ':'")
  .meta({ label: l('Node id', 'Id узла') });

/** Language tags for per-language variants: 'en', 'ru', 'pt-BR'. */
export const languageSchema = z
  .string()
  .regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, "Use a language code like 'en', 'ru' or 'pt-BR'")
  .meta({ label: l('Language', 'Язык') });

export const slugSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "Use 1–63 lowercase letters, digits and '-', starting with a letter or digit")
  .meta({ label: l('Slug', 'Слаг'), help: l('Short unique name used in URLs', 'Короткое уникальное имя для URL') });

export const positionSchema = z.object({ x: z.number(), y: z.number() });

export const graphNodeSchema = z.object({
  id: nodeIdSchema,
  type: z.string().min(1).meta({ label: l('Type', 'Тип') }),
  position: positionSchema.default({ x: 0, y: 0 }),
  data: z.record(z.string(), z.unknown()).default({}),
  /** Title shown on the canvas; cosmetic, not part of the IR. */
  label: z.string().max(200).optional(),
});

export const graphEdgeSchema = z.object({
  id: z.string().min(1).max(100),
  source: z.string().min(1),
  sourcePort: z.string().min(1).default('next'),
  target: z.string().min(1),
  /** Extra guard: the edge is taken only when these rules hold (absent = always). */
  rules: ruleGroupSchema.optional(),
  /** Lower is tried first; edges without priority count as 0; ties keep edge order. */
  priority: z.number().int().optional(),
  label: z.string().max(200).optional(),
});

export const variableDeclarationSchema = z
  .object({
    name: z.string().meta({ label: l('Name', 'Имя'), help: l("Scope and name, e.g. 'session.email' or 'user.city'", "Область и имя, например 'session.email' или 'user.city'") }),
    type: z.enum(variableTypes).default('string'),
    default: z.json().optional(),
    description: z.string().max(500).optional(),
  })
  .superRefine((declaration, ctx) => {
    const name = parseVariablePath(declaration.name, { write: true });
    if (!name.ok) ctx.addIssue({ code: 'custom', path: ['name'], message: name.message });
    const value = declaration.default;
    if (value !== undefined && value !== null && declaration.type !== 'json' && typeof value !== declaration.type) {
      ctx.addIssue({ code: 'custom', path: ['default'], message: `Default of '${declaration.name}' must be a ${declaration.type}` });
    }
  });

export const graphSchema = z.object({
  slug: slugSchema,
  name: z.string().min(1).max(200),
  description: z.string().max(2000).optional(),
  defaultLanguage: languageSchema.default('en'),
  /** Languages with per-language variants; the default language is always included. */
  languages: z.array(languageSchema).optional(),
  variables: z.array(variableDeclarationSchema).default([]),
  webChat: z.object({ enabled: z.boolean().default(false) }).optional(),
  nodes: z.array(graphNodeSchema),
  edges: z.array(graphEdgeSchema).default([]),
});

/** A validated graph (defaults applied). */
export type Graph = z.infer<typeof graphSchema>;
/** A graph as written by hand or read from YAML (defaults may be omitted). */
export type GraphInput = z.input<typeof graphSchema>;
export type GraphNode = z.infer<typeof graphNodeSchema>;
export type GraphEdge = z.infer<typeof graphEdgeSchema>;
export type VariableDeclaration = z.infer<typeof variableDeclarationSchema>;
