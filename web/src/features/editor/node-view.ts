// Domain → canvas: the ports a node shows (computed by chain/ from its config, so dynamic
// ports follow the config) and the essentials its card shows.

import { portsOf, specFor } from '../../../../chain/index.ts';
import { localized } from '../../i18n/index.ts';
import type { GraphNode, NodeType, PortView } from './editor.types.ts';

type Translate = (key: string, values?: Record<string, unknown>) => string;

/** The output ports of a node as configured (falling back to its type's default ports). */
export function nodePorts(node: GraphNode, type: NodeType | undefined, locale: string): PortView[] {
  const spec = specFor(node.type);
  let ports = type?.ports ?? [];
  if (spec) {
    const parsed = spec.config.safeParse(node.data);
    if (parsed.success) ports = [...portsOf(spec, parsed.data)];
  }
  return ports.map((port) => ({ id: port.id, label: port.label ? localized(port.label, locale) : port.id }));
}

const str = (value: unknown): string => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '');
const obj = (value: unknown): Record<string, unknown> => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {});
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const clip = (text: string, max = 90): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function ruleText(rule: unknown): string {
  const r = obj(rule);
  if ('rules' in r) return `(${list(r.rules).map(ruleText).join(` ${str(r.condition) || 'AND'} `)})`;
  const value = r.value === undefined ? '' : ` ${Array.isArray(r.value) ? r.value.map(str).join(', ') : str(r.value)}`;
  return `${str(r.field)} ${str(r.operator).replaceAll('_', ' ')}${value}`;
}

/** One to three short lines: text preview, condition, delay, method + URL… */
export function nodeSummary(node: GraphNode, t: Translate): string[] {
  const d = obj(node.data);
  switch (node.type) {
    case 'start': {
      const trigger = obj(d.trigger);
      const kind = str(trigger.kind);
      if (kind === 'command') return [t('editor.summary.command', { command: str(trigger.command) })];
      if (kind === 'text') return [t('editor.summary.text', { pattern: clip(str(trigger.pattern), 40) })];
      if (kind === 'schedule') return [t('editor.summary.schedule', { cron: str(trigger.cron) })];
      if (kind === 'webhook') return [t('editor.summary.webhook', { hookId: str(trigger.hookId) })];
      if (kind === 'telegram_event') return [t('editor.summary.telegramEvent', { events: list(trigger.events).map(str).join(', ') })];
      if (kind === 'api') return [t('editor.summary.api')];
      return [t('editor.summary.any')];
    }
    case 'message':
      return [clip(str(d.text))];
    case 'ask':
      return [clip(str(d.prompt)), ...(d.variable ? [t('editor.summary.saveTo', { variable: str(d.variable) })] : [])];
    case 'condition': {
      const rules = list(obj(d.rules).rules);
      if (!rules.length) return [t('editor.summary.noRules')];
      return [clip(rules.map(ruleText).join(` ${str(obj(d.rules).condition) || 'AND'} `), 80)];
    }
    case 'switch':
      return [t('editor.summary.cases', { n: list(d.cases).length }), ...list(d.cases).slice(0, 3).map((c) => clip(`${str(obj(c).id)}: ${list(obj(obj(c).rules).rules).map(ruleText).join(` ${str(obj(obj(c).rules).condition) || 'AND'} `)}`, 60))];
    case 'set':
      return [t('editor.summary.assignments', { n: list(d.assignments).length }), ...list(d.assignments).slice(0, 2).map((a) => clip(`${str(obj(a).variable)} ← ${str(obj(a).value)}`, 40))];
    case 'delay':
      return [d.mode === 'until' ? t('editor.summary.until', { time: str(d.at) }) : t('editor.summary.wait', { duration: str(d.duration) })];
    case 'http':
      return [clip(`${str(d.method) || 'GET'} ${str(d.url)}`, 70)];
    case 'llm':
      return [str(d.model), ...(d.variable ? [t('editor.summary.saveTo', { variable: str(d.variable) })] : [])];
    case 'agent':
      return [clip([str(d.model), ...list(d.tools).map((tool) => str(obj(tool).name))].join(' · '), 70), ...(d.variable ? [t('editor.summary.saveTo', { variable: str(d.variable) })] : [])];
    case 'knowledge':
      return [clip(str(d.query), 70), ...(d.variable ? [t('editor.summary.saveTo', { variable: str(d.variable) })] : [])];
    case 'code':
      return d.variable ? [t('editor.summary.saveTo', { variable: str(d.variable) })] : [];
    case 'subchain':
      return [t('editor.summary.subchain', { chain: str(d.chainRef) || '—' })];
    case 'split':
      return [t('editor.summary.variants', { n: list(d.variants).length })];
    case 'goto':
      return [t('editor.summary.goto', { target: str(d.target) || '—' })];
    case 'end':
      return [t('editor.summary.end')];
    default:
      return [];
  }
}

/** A small symbol per Lucide icon name (no icon font: everything ships in the bundle). */
export function iconGlyph(icon: string): string {
  const glyphs: Record<string, string> = {
    play: '▶',
    'message-square': '✉',
    'message-circle-question': '?',
    'git-branch': '◇',
    split: '⇶',
    variable: 'x',
    timer: '◷',
    globe: '⌁',
    sparkles: '✦',
    bot: '☺',
    'book-open': '¶',
    code: '{}',
    workflow: '↳',
    'flask-conical': '⚗',
    'corner-down-right': '↪',
    square: '■',
  };
  return glyphs[icon] ?? '•';
}
