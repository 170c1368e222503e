// Sample chains. `greetingGraph` is the demo seeded on first start; examples/greeting.yaml
// holds the same graph (YAML.parse of the file deep-equals this value).

import { graphSchema, type Graph } from './graph.ts';

/**
 * The greeting demo: /start (or any first message) → if the user's name is known,
 * welcome back; otherwise ask for it (validated, 2 retries, 1-day timeout), then answer
 * differently depending on whether it matches the Telegram profile name.
 */
export const greetingGraph: Graph = graphSchema.parse({
  slug: 'greeting',
  name: 'Greeting',
  description: 'Asks for the user’s name once and greets them by it from then on.',
  defaultLanguage: 'en',
  languages: ['en', 'ru'],
  variables: [{ name: 'user.name', type: 'string', description: 'How the bot addresses the user (kept across sessions)' }],
  webChat: { enabled: true },
  nodes: [
    {
      id: 'start_command',
      type: 'start',
      position: { x: 0, y: 0 },
      label: '/start',
      data: { trigger: { kind: 'command', command: '/start', description: 'Say hello' } },
    },
    {
      id: 'start_any',
      type: 'start',
      position: { x: 0, y: 160 },
      label: 'Any message',
      data: { trigger: { kind: 'any' } },
    },
    {
      id: 'name_known',
      type: 'condition',
      position: { x: 280, y: 80 },
      label: 'Name known?',
      data: { rules: { condition: 'AND', rules: [{ field: 'user.name', operator: 'is_not_empty' }] } },
    },
    {
      id: 'welcome_back',
      type: 'message',
      position: { x: 560, y: 0 },
      data: {
        text: 'Welcome back, {{ user.name }}!',
        variants: { ru: { text: 'С возвращением, {{ user.name }}!' } },
      },
    },
    {
      id: 'ask_name',
      type: 'ask',
      position: { x: 560, y: 200 },
      label: 'Ask the name',
      data: {
        prompt: "Hi! I'm the greeting bot. What's your name?",
        variants: {
          ru: {
            prompt: 'Привет! Я бот-приветствие. Как тебя зовут?',
            retryText: 'Пришли, пожалуйста, только имя — буквы, до 40 символов.',
          },
        },
        variable: 'user.name',
        validator: { kind: 'regex', pattern: "^\\p{L}[\\p{L} '-]{0,39}$" },
        retries: 2,
        retryText: 'Please send just your name — letters only, up to 40 characters.',
        timeout: '1d',
      },
    },
    {
      id: 'same_as_profile',
      type: 'condition',
      position: { x: 840, y: 160 },
      label: 'Same as Telegram name?',
      data: {
        rules: { condition: 'AND', rules: [{ field: 'user.name', operator: 'equals', value: '{{ user.first_name }}' }] },
      },
    },
    {
      id: 'reply_same',
      type: 'message',
      position: { x: 1120, y: 80 },
      data: {
        text: 'Nice to meet you, {{ user.name }}!',
        variants: { ru: { text: 'Приятно познакомиться, {{ user.name }}!' } },
      },
    },
    {
      id: 'reply_new',
      type: 'message',
      position: { x: 1120, y: 240 },
      data: {
        text: 'Nice to meet you, {{ user.name }}! I’ll call you that instead of {{ user.first_name | default: "your Telegram name" }}.',
        variants: {
          ru: { text: 'Приятно познакомиться, {{ user.name }}! Буду звать тебя так, а не {{ user.first_name | default: "по имени из Telegram" }}.' },
        },
      },
    },
    {
      id: 'no_name',
      type: 'message',
      position: { x: 840, y: 360 },
      data: {
        text: 'No problem, I’ll call you {{ user.first_name | default: "friend" }}.',
        variants: { ru: { text: 'Ничего страшного, буду звать тебя {{ user.first_name | default: "друг" }}.' } },
      },
    },
    {
      id: 'no_answer',
      type: 'message',
      position: { x: 840, y: 480 },
      data: {
        text: 'I’ll be here when you’re ready. Send /start any time.',
        variants: { ru: { text: 'Я на связи, когда будешь готов. Отправь /start в любой момент.' } },
      },
    },
    { id: 'done', type: 'end', position: { x: 1400, y: 160 }, data: { outcome: 'greeted' } },
    { id: 'gave_up', type: 'end', position: { x: 1120, y: 480 }, data: { outcome: 'no_answer' } },
  ],
  edges: [
    { id: 'e_start_command', source: 'start_command', sourcePort: 'next', target: 'name_known' },
    { id: 'e_start_any', source: 'start_any', sourcePort: 'next', target: 'name_known' },
    { id: 'e_known', source: 'name_known', sourcePort: 'true', target: 'welcome_back' },
    { id: 'e_unknown', source: 'name_known', sourcePort: 'false', target: 'ask_name' },
    { id: 'e_welcome_done', source: 'welcome_back', sourcePort: 'next', target: 'done' },
    { id: 'e_answer', source: 'ask_name', sourcePort: 'next', target: 'same_as_profile' },
    { id: 'e_invalid', source: 'ask_name', sourcePort: 'invalid', target: 'no_name' },
    { id: 'e_timeout', source: 'ask_name', sourcePort: 'timeout', target: 'no_answer' },
    { id: 'e_same', source: 'same_as_profile', sourcePort: 'true', target: 'reply_same' },
    { id: 'e_new', source: 'same_as_profile', sourcePort: 'false', target: 'reply_new' },
    { id: 'e_same_done', source: 'reply_same', sourcePort: 'next', target: 'done' },
    { id: 'e_new_done', source: 'reply_new', sourcePort: 'next', target: 'done' },
    { id: 'e_no_name_done', source: 'no_name', sourcePort: 'next', target: 'done' },
    { id: 'e_gave_up', source: 'no_answer', sourcePort: 'next', target: 'gave_up' },
  ],
});
