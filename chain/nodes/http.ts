import { z } from 'zod';
import { parseJsonPath } from '../json-path.ts';
import { hasExpressions } from '../template.ts';
import { credentialIdSchema, field, templateSchema, writableVariableSchema } from './common.ts';
import { defineNode, l, type NodeIssue, type TemplateRef } from './spec.ts';

const pairSchema = z.object({
  name: z.string().min(1).max(200),
  value: templateSchema,
});

const headerSchema = z.object({
  name: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,200}$/, 'Not a valid HTTP header name'),
  value: templateSchema,
});

export const httpBodySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }),
  z.object({
    kind: z.literal('json'),
    json: field(templateSchema.min(1), l('JSON', 'JSON'), l('JSON text; inserted variables are escaped as JSON strings', 'Текст JSON; подставленные переменные экранируются как строки JSON'), 'json'),
  }),
  z.object({ kind: z.literal('form'), fields: z.array(pairSchema).max(100) }),
  z.object({
    kind: z.literal('multipart'),
    fields: z.array(pairSchema.extend({ filename: z.string().max(200).optional() })).max(100),
  }),
  z.object({
    kind: z.literal('raw'),
    contentType: z.string().min(1).max(200).default('text/plain'),
    text: templateSchema,
  }),
]);

export const responseMappingSchema = z.object({
  variable: field(writableVariableSchema, l('Variable', 'Переменная'), undefined, 'variable'),
  path: field(
    z.string().refine((path) => parseJsonPath(path) !== undefined, "Use a JSON path like '$.data.id' or '$.items[0].name'"),
    l('JSON path', 'JSON-путь'),
    l("In the response body, e.g. '$.data.id'", "В теле ответа, например '$.data.id'"),
  ),
});

export const httpConfigSchema = z.object({
  method: field(z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']).default('GET'), l('Method', 'Метод'), undefined, 'select'),
  url: field(templateSchema.min(1), l('URL', 'URL'), l('May use {{ variables }} and {{ secrets.name }}', 'Можно использовать {{ переменные }} и {{ secrets.name }}'), 'template'),
  query: field(z.array(pairSchema).max(100).default([]), l('Query parameters', 'Параметры запроса'), undefined, 'key-value'),
  headers: field(z.array(headerSchema).max(100).default([]), l('Headers', 'Заголовки'), undefined, 'key-value'),
  body: field(httpBodySchema.default({ kind: 'none' }), l('Body', 'Тело')),
  timeoutMs: field(z.number().int().min(100).max(120_000).default(10_000), l('Timeout, ms', 'Таймаут, мс'), undefined, 'number'),
  responseMapping: field(z.array(responseMappingSchema).max(50).default([]), l('Save from response', 'Сохранить из ответа')),
  responseVariable: field(
    writableVariableSchema.optional(),
    l('Save whole response to', 'Сохранить весь ответ в'),
    l('Stores { status, headers, body }', 'Сохраняет { status, headers, body }'),
    'variable',
  ),
  retryUnsafe: field(
    z.boolean().optional(),
    l('Retry POST/PATCH after a timeout', 'Повторять POST/PATCH после таймаута'),
    l(
      "Off: a POST or PATCH whose answer did not arrive (timeout, connection lost) is not sent again, since the server may have acted on it. Turn on when the API honours the Idempotency-Key header every request carries.",
      'Выключено: POST или PATCH, ответ на который не пришёл (таймаут, обрыв соединения), не отправляется повторно — сервер мог его уже выполнить. Включите, если API учитывает заголовок Idempotency-Key, который есть у каждого запроса.',
    ),
    'switch',
  ),
  credentialId: field(credentialIdSchema.optional(), l('Credential', 'Учётные данные'), l('Adds authentication (bearer, basic or header) inside the request activity', 'Добавляет аутентификацию (bearer, basic или заголовок) при выполнении запроса'), 'credential'),
});
export type HttpConfig = z.infer<typeof httpConfigSchema>;

export const httpNode = defineNode({
  type: 'http',
  category: 'integration',
  icon: 'globe',
  label: l('HTTP request', 'HTTP-запрос'),
  help: l(
    "Calls an HTTP API. 2xx responses leave through 'ok'; other statuses, timeouts and network errors through 'error' (details in session.error). Without an 'error' edge a failure fails the session.",
    "Вызывает HTTP API. Ответы 2xx — через 'ok'; другие статусы, таймауты и сетевые ошибки — через 'error' (подробности в session.error). Без ребра 'error' сбой завершает сессию с ошибкой.",
  ),
  config: httpConfigSchema,
  defaults: { method: 'GET', url: 'https://api.example.com/items/{{ session.item_id }}' },
  ports: [
    { id: 'ok', required: false, label: l('OK', 'Успех') },
    { id: 'error', required: false, label: l('Error', 'Ошибка') },
  ],
  errorPorts: ['error'],
  activity: 'httpRequest',
  writes: (config) => [
    ...config.responseMapping.map((mapping, i) => ({ field: `responseMapping.${i}.variable`, variable: mapping.variable })),
    ...(config.responseVariable !== undefined ? [{ field: 'responseVariable', variable: config.responseVariable }] : []),
  ],
  templates: (config) => {
    const refs: TemplateRef[] = [{ field: 'url', text: config.url, secrets: true }];
    config.query.forEach((pair, i) => refs.push({ field: `query.${i}.value`, text: pair.value, secrets: true }));
    config.headers.forEach((pair, i) => refs.push({ field: `headers.${i}.value`, text: pair.value, secrets: true }));
    const body = config.body;
    if (body.kind === 'json') refs.push({ field: 'body.json', text: body.json, secrets: true });
    if (body.kind === 'raw') refs.push({ field: 'body.text', text: body.text, secrets: true });
    if (body.kind === 'form' || body.kind === 'multipart') {
      body.fields.forEach((pair, i) => refs.push({ field: `body.fields.${i}.value`, text: pair.value, secrets: true }));
    }
    return refs;
  },
  compileChecks: (config) => {
    const issues: NodeIssue[] = [];
    if (!hasExpressions(config.url) && !/^https?:\/\/[^\s/]+/i.test(config.url)) {
      issues.push({ code: 'config_invalid', field: 'url', message: `'${config.url}' is not an http(s) URL`, fix: "Start the URL with 'https://' (or 'http://')" });
    }
    if (config.body.kind === 'json' && !hasExpressions(config.body.json)) {
      try {
        JSON.parse(config.body.json);
      } catch {
        issues.push({ code: 'config_invalid', field: 'body.json', message: 'The JSON body is not valid JSON', fix: 'Check quotes, commas and brackets' });
      }
    }
    if ((config.method === 'GET' || config.method === 'HEAD') && config.body.kind !== 'none') {
      issues.push({ code: 'http_body_ignored', field: 'body', message: `${config.method} requests carry no body; it will not be sent`, fix: "Use POST/PUT/PATCH, or set the body to 'none'", severity: 'warning' });
    }
    return issues;
  },
});
