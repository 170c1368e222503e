import { describe, expect, it } from 'vitest';
import { createScope } from './scope.ts';
import { parseTemplate, renderTemplate, type RenderOptions } from './template.ts';

const scope = createScope({
  message: { text: 'hi', date: 1735725600 }, // 2025-01-01T10:00:00Z
  session: {
    count: 3,
    ok: true,
    empty: '',
    nothing: null,
    order: { id: 'A-7', items: [{ title: 'Tea' }, { title: 'Cake' }] },
    at: '2025-03-08T09:05:00Z',
    local: '2025-03-08 09:05',
    markup: '<b>"Tom" & Jerry</b>',
    stars: '*bold* _it_ 1.5!',
  },
  user: { name: 'Ann', first_name: 'Anna' },
});

describe('template rendering', () => {
  it.each<[string, string, RenderOptions?]>([
    ['Hello, {{ user.name }}!', 'Hello, Ann!'],
    ['Hello, {{user.name}}!', 'Hello, Ann!'],
    ['{{ session.count }} items, ok={{ session.ok }}', '3 items, ok=true'],
    ['Order {{ session.order.id }}: {{ session.order.items.1.title }}', 'Order A-7: Cake'],
    ['Missing: [{{ user.surname }}] [{{ session.order.items.9.title }}] [{{ session.nothing }}]', 'Missing: [] [] []'],
    ['{{ session.order.items.0 }}', '{"title":"Tea"}'],
    ['{{ user.surname | default: "friend" }}', 'friend'],
    ["{{ session.empty | default: 'n/a' }}", 'n/a'],
    ['{{ session.nothing | default: 0 }}', '0'],
    ['{{ user.name | default: "friend" }}', 'Ann'],
    ['{{ user.nick | default: user.first_name }}', 'Anna'],
    ['{{ user.name | upper }} {{ user.name | lower }}', 'ANN ann'],
    ['{{ user.nick | default: "x" | upper }}', 'X'],
    ['{{ session.order | json }}', '{"id":"A-7","items":[{"title":"Tea"},{"title":"Cake"}]}'],
    ['{{ user.name | json }}', '"Ann"'],
    ['{{ user.nick | json }}', 'null'],
    ['{{ session.order.items.0 | json: 2 }}', '{\n  "title": "Tea"\n}'],
    ['{{ session.at | date: "DD.MM.YYYY HH:mm" }}', '08.03.2025 09:05'],
    ['{{ session.at | date: "YYYY-MM-DD HH:mm", "Europe/Moscow" }}', '2025-03-08 12:05'],
    ['{{ session.at | date }}', '2025-03-08 09:05'],
    ['{{ session.at | date: "h:mm A [on] dddd, MMMM D", "America/New_York" }}', '4:05 AM on Saturday, March 8'],
    ['{{ session.at | date: "D MMMM YYYY", "Europe/Moscow" }}', '8 марта 2025', { locale: 'ru' }],
    ['{{ session.at | date: "HH:mm Z" }}', '12:05 +03:00', { timeZone: 'Europe/Moscow' }],
    ['{{ session.local | date: "HH:mm", "Asia/Tokyo" }}', '09:05'],
    ['{{ message.date | date: "YYYY-MM-DD HH:mm" }}', '2025-01-01 10:00'],
    ['{{ user.name | date }}', ''],
    ['{{ "literal" }} and {{ 42 }}', 'literal and 42'],
    ['Hi {{ user.name }} and "{{ user.first_name }}"', 'Hi Ann and "Anna"'],
    ['{{ session.markup }} <i>kept</i>', '&lt;b&gt;&quot;Tom&quot; &amp; Jerry&lt;/b&gt; <i>kept</i>', { escape: 'html' }],
    ['*{{ session.stars }}*', '*\\*bold\\* \\_it\\_ 1\\.5\\!*', { escape: 'markdown' }],
    ['{"name": "{{ session.markup }}"}', '{"name": "<b>\\"Tom\\" & Jerry</b>"}', { escape: 'json' }],
    ['Key: {{ secrets.api_key }}', 'Key: '],
    ['Key: {{ secrets.api_key }}', 'Key: s3cr3t', { secrets: { api_key: 's3cr3t' } }],
  ])('renders %j as %j', (template, expected, options) => {
    expect(renderTemplate(template, scope, options)).toBe(expected);
  });

  it('renders a parsed template the same as its text', () => {
    const parsed = parseTemplate('Hello, {{ user.name | upper }}!');
    expect(renderTemplate(parsed, scope)).toBe(renderTemplate('Hello, {{ user.name | upper }}!', scope));
  });
});

describe('template escaping', () => {
  it.each([
    ['\\{{ user.name }}', '{{ user.name }}'],
    ['\\{{ user.name }} is {{ user.name }}', '{{ user.name }} is Ann'],
    ['{{ "{{" }} user.name }}', '{{ user.name }}'],
    ['a }} b', 'a }} b'],
    ['{{ user.name | default: "}}" }}', 'Ann'],
    ['{{ user.nick | default: "}}" }}', '}}'],
    ['{ single } braces', '{ single } braces'],
  ])('renders %j as %j', (template, expected) => {
    expect(renderTemplate(template, scope)).toBe(expected);
  });
});

describe('template parsing', () => {
  it('lists the variables it reads, including filter arguments, once each', () => {
    const parsed = parseTemplate('{{ user.name | default: user.first_name }} {{ user.name }} {{ secrets.token }} \\{{ session.no }}');
    expect(parsed.variables).toEqual(['user.name', 'user.first_name', 'secrets.token']);
    expect(parsed.problems).toEqual([]);
  });

  it('keeps the structure of expressions', () => {
    const parsed = parseTemplate('Hi {{ user.name | default: "x" }}');
    expect(parsed.parts).toEqual([
      { kind: 'text', text: 'Hi ' },
      {
        kind: 'expr',
        source: '{{ user.name | default: "x" }}',
        expr: { operand: { kind: 'path', path: 'user.name' }, filters: [{ name: 'default', args: [{ kind: 'literal', value: 'x' }] }] },
      },
    ]);
  });

  it.each([
    ['Hello {{ user.name', /not closed/, 6],
    ['{{ }}', /empty expression/, 2],
    ['{{ user.name | shout }}', /unknown filter 'shout'; available: default, upper, lower, json, date/, 15],
    ['{{ user.name | default }}', /'default' takes 1 argument/, 15],
    ['{{ user.name | upper: 1 }}', /'upper' takes 0 argument/, 15],
    ['{{ user.name | json: "x" }}', /indent number/, 15],
    ['{{ session.at | date: "HH:mm", "Mars/Olympus" }}', /unknown time zone 'Mars\/Olympus'/, 16],
    ['{{ name }}', /must start with a scope/, 3],
    ['{{ user.name user.first_name }}', /expected '\|'/, 13],
    ['{{ user.name | default: "x }}', /not closed|unterminated/, 0],
    ['{{ user.name ? }}', /unexpected character '\?'/, 13],
    ['{{ user.__proto__ }}', /reserved name/, 3],
  ])('reports a problem in %j', (template, message, offset) => {
    const parsed = parseTemplate(template);
    expect(parsed.problems).toHaveLength(1);
    expect(parsed.problems[0]?.message).toMatch(message);
    expect(parsed.problems[0]?.offset).toBe(offset);
  });

  it('renders a broken expression as its literal text', () => {
    expect(renderTemplate('A {{ user.name | shout }} B {{ user.name }}', scope)).toBe('A {{ user.name | shout }} B Ann');
  });
});
