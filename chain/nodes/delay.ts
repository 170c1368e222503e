import { z } from 'zod';
import { hasExpressions } from '../template.ts';
import { isValidTimeZone, parseDateTime } from '../time.ts';
import { durationSchema, field, templateSchema } from './common.ts';
import { defineNode, l, type NodeIssue } from './spec.ts';

export const delayConfigSchema = z.discriminatedUnion('mode', [
  z.object({
    mode: z.literal('duration'),
    duration: field(durationSchema, l('Wait for', 'Ждать'), l("E.g. '30s', '15m', '3d', '2w' or 'PT1H30M'", "Например '30s', '15m', '3d', '2w' или 'PT1H30M'"), 'duration'),
  }),
  z.object({
    mode: z.literal('until'),
    at: field(
      templateSchema.min(1),
      l('Wait until', 'Ждать до'),
      l("Local date-time 'YYYY-MM-DDTHH:mm' (or with an offset), may be a template like {{ session.meeting_at }}; a past time continues at once", "Местное время 'YYYY-MM-DDTHH:mm' (или со смещением), можно шаблон {{ session.meeting_at }}; прошедшее время — сразу дальше"),
      'datetime',
    ),
    timezone: field(templateSchema.min(1).default('UTC'), l('Time zone', 'Часовой пояс'), l("IANA name like 'Europe/Moscow', or a template", "Имя IANA, например 'Europe/Moscow', или шаблон"), 'timezone'),
  }),
]);
export type DelayConfig = z.infer<typeof delayConfigSchema>;

export const delayNode = defineNode({
  type: 'delay',
  category: 'flow',
  icon: 'timer',
  label: l('Delay', 'Пауза'),
  help: l(
    'Waits for a duration or until a date-time; durable, survives restarts. Messages sent meanwhile wait in the inbox.',
    'Ждёт заданное время или до даты; надёжно переживает перезапуски. Сообщения за это время ждут во входящих.',
  ),
  config: delayConfigSchema,
  defaults: { mode: 'duration', duration: '1d' },
  ports: [{ id: 'next', required: false, label: l('Next', 'Далее') }],
  waits: true,
  templates: (config) => (config.mode === 'until' ? [{ field: 'at', text: config.at }, { field: 'timezone', text: config.timezone }] : []),
  compileChecks: (config) => {
    const issues: NodeIssue[] = [];
    if (config.mode !== 'until') return issues;
    if (!hasExpressions(config.at) && !parseDateTime(config.at)) {
      issues.push({ code: 'config_invalid', field: 'at', message: `'${config.at}' is not a date-time`, fix: "Write it as 'YYYY-MM-DDTHH:mm', e.g. '2025-12-31T09:00', or use a template" });
    }
    if (!hasExpressions(config.timezone) && !isValidTimeZone(config.timezone)) {
      issues.push({ code: 'config_invalid', field: 'timezone', message: `Unknown time zone '${config.timezone}'`, fix: "Use an IANA name like 'Europe/Moscow' or 'UTC'" });
    }
    return issues;
  },
});
